// Every move of a task between cgroups takes one kernel-wide lock
// (cgroup_threadgroup_rwsem; v1 and v2 hierarchies share it). Its write side waits
// out an RCU grace period (~5-15 ms) unless a move took it within about the last
// grace period: the first move after a quiet spell is slow, the moves right after it
// are not. A runtime that knows it is about to move something can pay that wait
// early, while it does other work, by moving itself into the cgroup it is already
// in: the kernel takes the lock and migrates nothing. (Hosts whose cgroup2 is mounted
// with `favordynmods` have no such wait.)
// This module is its own package entry (@ctr/cgroups/warm) and loads nothing but
// detect.ts: callers use it before they load the rest.
import { writeFile } from 'node:fs';
import { join } from 'node:path';
import { type CgroupHost, currentCgroups, ownCgroupDir } from './detect.ts';

let inFlight: Promise<void> | undefined;

/**
 * Starts a no-op cgroup migration on libuv's thread pool, so that the moves made soon
 * after it do not wait out a grace period each. Resolves once the kernel is done;
 * never rejects: nothing depends on it but speed.
 *
 * The kernel holds cgroup_mutex while it waits: a cgroup mkdir or rmdir made during a
 * cold warm-up waits with it (measured: `ctr create`'s mkdirs took 13-25 ms instead of
 * ~1 ms). Start it where nothing else touches cgroups for a while.
 *
 * It names the caller's cgroup as /proc/self/cgroup shows it now: a move of this
 * process started before it and still running would be undone by it, so a caller
 * that moves itself awaits warmupSettled() first.
 */
export function warmCgroupMigration(): Promise<void> {
  if (inFlight) return inFlight;
  const target = noopTarget();
  if (target === undefined) return Promise.resolve();
  const done = new Promise<void>((resolve) =>
    writeFile(target, '0', () => {
      inFlight = undefined;
      resolve();
    }),
  );
  inFlight = done;
  return done;
}

/** Settles once no warm-up is in flight. */
export function warmupSettled(): Promise<void> {
  return inFlight ?? Promise.resolve();
}

/**
 * The file whose write of "0" (the writer itself) moves nothing: cgroup.procs of the
 * process's own unified cgroup, where a process's threads cannot be apart; on a v1
 * host, tasks of its own cgroup, which moves only the thread-pool thread that writes.
 */
function noopTarget(): string | undefined {
  let now: CgroupHost;
  try {
    now = currentCgroups();
  } catch {
    return undefined;
  }
  const unified = ownCgroupDir(now, '');
  if (unified !== undefined) return join(unified, 'cgroup.procs');
  for (const controller of Object.keys(now.v1)) {
    const dir = ownCgroupDir(now, controller);
    if (dir !== undefined) return join(dir, 'tasks');
  }
  return undefined;
}
