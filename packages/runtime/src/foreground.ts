import { constants } from 'node:os';
import type { ChildExit } from '@ctr/namespaces';
import { signalProcess } from './process-signal.ts';

// What a foreground `run` or `exec` passes on to its process, as runc's signal
// handler does; SIGCHLD and SIGPIPE stay ours, SIGKILL and SIGSTOP cannot be caught.
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
 * Forwards this process's signals to `pid` (pinned by its start time); returns the
 * undo. With a relayed terminal SIGWINCH resizes it instead: the kernel then signals
 * the terminal's foreground group itself, as under runc.
 */
export function forwardSignals(pid: number, startTime: string, resize?: () => void): () => void {
  const forward = (signal: NodeJS.Signals) => {
    if (signal === 'SIGWINCH' && resize) resize();
    else signalProcess(pid, startTime, constants.signals[signal]);
  };
  for (const s of FORWARDED) process.on(s, forward);
  return () => {
    for (const s of FORWARDED) process.off(s, forward);
  };
}

/** A shell-style exit status: the code, or 128 + the signal that killed it. */
export function exitStatus(exit: ChildExit): number {
  return exit.signal !== null ? 128 + constants.signals[exit.signal] : (exit.code ?? 255);
}
