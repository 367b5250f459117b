import type { PrivilegesPlan } from '@ctr/capabilities';
import type { CgroupPlan } from '@ctr/cgroups';
import type { NamespacesPlan } from '@ctr/namespaces';
import type { RootfsPlan } from '@ctr/rootfs';
import type { BundleConfig } from '../bundle.ts';
import type { WireError } from '../init/protocol.ts';

/** What the main thread hands the launching thread (workerData): plain data only. */
export interface LaunchRequest {
  config: BundleConfig;
  namespaces: NamespacesPlan;
  cgroup: CgroupPlan;
  /** Planned on the main thread, where the host's /proc/thread-self is still there to probe. */
  privileges: PrivilegesPlan;
  /**
   * Planned on the main thread for the thread's cgroups once it has joined them (the
   * container's cgroup mounts name them): the thread applies it and loads no planner.
   */
  rootfs: RootfsPlan;
  /** The thread's /proc/thread-self/cgroup (parsed) that `rootfs` was planned for; checked after joining. */
  cgroupPaths: Record<string, string>;
  /** fd 0, 1, 2 and the preserved fds of the program, as fds of this process or 'inherit'. */
  stdio: (number | 'inherit')[];
}

/**
 * What the launching thread reports, in this order: loaded (its modules, koffi's addon
 * among them, are in), spawned (or error), then exit.
 */
export type LaunchMessage =
  | { type: 'loaded' }
  | { type: 'spawned'; pid: number; tid: number }
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'error'; error: WireError };
