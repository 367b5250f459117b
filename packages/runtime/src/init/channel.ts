// The init's side of the sync pipe. The init is single-purpose and blocks on purpose,
// so it reads and writes synchronously: nothing else may run while it sets up.
import { readSync, writeSync } from 'node:fs';
import { CtrError } from '@ctr/sys';
import { toWire } from '../wire-error.ts';
import type { FromInit, ToInit } from './protocol.ts';

const pending: string[] = [];
let buffered = '';

/** Blocks until the runtime sends the next message; EOF means the runtime is gone. */
export function receive(fd: number): ToInit {
  const buf = Buffer.alloc(65536);
  while (pending.length === 0) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) {
      throw new CtrError({
        stage: 'runtime',
        op: 'read sync pipe',
        hint: 'the runtime exited during create',
      });
    }
    buffered += buf.toString('utf8', 0, n);
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    pending.push(...lines.filter((l) => l.length > 0));
  }
  return JSON.parse(pending.shift()!) as ToInit;
}

export function send(fd: number, message: FromInit): void {
  const data = Buffer.from(`${JSON.stringify(message)}\n`);
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off);
}

/**
 * The body of an entry script started by the launcher: reads its bootstrap from the
 * sync fd (argv[2]), prepares (an error goes back over the pipe), reports "ready", then
 * takes the last step, which replaces the process and never returns.
 */
export function serveBootstrap<K extends ToInit['type'], P>(
  type: K,
  prepare: (boot: Extract<ToInit, { type: K }>, syncFd: number) => P,
  finish: (boot: Extract<ToInit, { type: K }>, prepared: P) => never,
): void {
  const syncFd = Number(process.argv[2]);
  let boot: ToInit;
  try {
    boot = receive(syncFd);
  } catch {
    // The runtime died before handing anything over: there is nothing to do.
    process.exit(1);
  }
  if (boot.type !== type) process.exit(1);
  const mine = boot as Extract<ToInit, { type: K }>;
  let prepared: P;
  try {
    prepared = prepare(mine, syncFd);
    send(syncFd, { type: 'ready' });
  } catch (e) {
    send(syncFd, { type: 'error', error: toWire(e) });
    process.exit(1);
  }
  try {
    finish(mine, prepared);
  } catch (e) {
    process.stderr.write(`ctr ${type === 'exec' ? 'exec' : 'init'}: ${(e as Error).message}\n`);
    process.exit(127);
  }
}
