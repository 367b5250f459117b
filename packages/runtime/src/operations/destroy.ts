import { openCgroup } from '@ctr/cgroups';
import { isSameProcessAlive } from '../proc.ts';
import { signalProcess } from '../process-signal.ts';
import type { ContainerRecord, ContainerStore } from '../store.ts';

/** Waits (polling /proc) until the init is gone or `ms` have passed; true when gone. */
export async function waitGone(pid: number, startTime: string, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (isSameProcessAlive(pid, startTime)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/**
 * Tears a container down: SIGKILL to the init (in a new pid namespace that ends
 * every process of the container), then its cgroup and its directory. Safe to call
 * on a half-created container and again on a destroyed one.
 */
export async function destroy(store: ContainerStore, record: ContainerRecord): Promise<void> {
  if (record.pid !== undefined && record.initStartTime !== undefined) {
    signalProcess(record.pid, record.initStartTime, 9);
    await waitGone(record.pid, record.initStartTime);
  }
  if (record.cgroup) {
    // Without a pid namespace the init's death leaves its children: the cgroup knows them all.
    const cgroup = openCgroup(record.cgroup);
    if (cgroup.exists()) {
      await cgroup.killAll('SIGKILL');
      await cgroup.delete();
    }
  }
  store.remove(record.id);
}
