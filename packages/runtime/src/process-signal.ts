import { close, pidfdOpen, pidfdSendSignal } from '@ctr/sys';
import { isSameProcessAlive } from './proc.ts';

/**
 * Signals the process `pid` only if it is still the one started at `startTime`: the
 * pidfd pins the process, and checking the start time after opening it closes the
 * window in which a recycled pid would get the signal. False when it is gone.
 */
export function signalProcess(pid: number, startTime: string, signal: number): boolean {
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return false;
  }
  try {
    if (!isSameProcessAlive(pid, startTime)) return false;
    pidfdSendSignal(fd, signal);
    return true;
  } catch {
    return false;
  } finally {
    close(fd);
  }
}
