import { constants } from 'node:os';
import type { ChildExit } from '@ctr/namespaces';
import { setChildSubreaper } from '@ctr/sys';
import { signalProcess } from '../process-signal.ts';
import { type CreateOptions, createHeld } from './create.ts';
import { deleteContainer } from './delete.ts';
import { start } from './start.ts';

export interface RunOptions extends CreateOptions {
  /** Return once the program runs instead of waiting for it. */
  detach?: boolean;
  /** Keep the stopped container (state) after it exits in the foreground. */
  keep?: boolean;
  /** Do not make this process a subreaper for the container's orphans. */
  noSubreaper?: boolean;
  warn?: (message: string) => void;
}

// What a foreground `run` passes on to the container, as runc's signal handler does;
// SIGCHLD and SIGPIPE stay ours, SIGKILL and SIGSTOP cannot be caught.
const FORWARDED: NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
  'SIGCONT',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
];

/**
 * `run` = create + start; in the foreground it forwards signals to the container,
 * waits for it, deletes it (unless `keep`) and returns its exit status (128+signal
 * when it was killed).
 */
export async function run(opts: RunOptions): Promise<number> {
  // Without a pid namespace the program's orphans would leave for the host's init;
  // as subreaper this process stays their parent, as runc does.
  if (!opts.noSubreaper && !opts.detach) setChildSubreaper(true);
  const { record, exited, release } = await createHeld(opts);
  try {
    await start({ id: opts.id, root: opts.root, warn: opts.warn });
  } catch (e) {
    await deleteContainer({ id: opts.id, root: opts.root, force: true });
    throw e;
  }
  if (opts.detach) {
    release();
    return 0;
  }
  const forward = (signal: NodeJS.Signals) => {
    signalProcess(record.pid!, record.initStartTime!, constants.signals[signal]);
  };
  for (const s of FORWARDED) process.on(s, forward);
  let status: number;
  try {
    status = exitStatus(await exited);
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
  if (!opts.keep) await deleteContainer({ id: opts.id, root: opts.root, force: true, warn: opts.warn });
  return status;
}

function exitStatus(exit: ChildExit): number {
  return exit.signal !== null ? 128 + constants.signals[exit.signal] : (exit.code ?? 255);
}
