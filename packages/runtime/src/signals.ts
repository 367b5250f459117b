import { constants } from 'node:os';
import { CtrError } from '@ctr/sys';

/** A signal number from a name ("KILL", "SIGKILL") or a number ("9"), like runc kill. */
export function parseSignal(signal: string | number): number {
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const n = Number(signal);
    if (n > 0 && n <= 64) return n;
  } else {
    const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
    if (rt) return 34 + Number(rt[1] ?? 0);
  }
  throw new CtrError({
    stage: 'runtime',
    op: `invalid signal ${JSON.stringify(String(signal))}`,
    hint: 'use a name like TERM or a number like 15',
  });
}

/** The name of a signal number ("SIGTERM"), for messages. */
export function signalName(n: number): string {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name;
  return `signal ${n}`;
}
