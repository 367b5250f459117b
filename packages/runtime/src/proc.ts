import { readFileSync } from 'node:fs';

/** What /proc says about a pid: its start time (to detect pid reuse) and run state. */
export interface ProcInfo {
  /** starttime in clock ticks since boot (proc(5) field 22). */
  startTime: string;
  /** R, S, D, Z, T, X ... */
  state: string;
}

/** Reads /proc/<pid>/stat, or undefined when no such process exists. */
export function procInfo(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTime = rest[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime };
}

/**
 * Whether `pid` is still the process that was started at `startTime`. A zombie counts
 * as gone: the container has exited even if nobody has reaped it yet.
 */
export function isSameProcessAlive(pid: number, startTime: string): boolean {
  const info = procInfo(pid);
  return info !== undefined && info.startTime === startTime && info.state !== 'Z' && info.state !== 'X';
}
