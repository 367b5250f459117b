import type { PrivilegesPlan } from '@ctr/capabilities';
import type { CgroupPlan } from '@ctr/cgroups';
import type { NamespacesPlan } from '@ctr/namespaces';
import type { BundleConfig } from '../bundle.ts';
import type { WireError } from '../init/protocol.ts';

/** What the main thread hands the launching thread (workerData): plain data only. */
export interface LaunchRequest {
  config: BundleConfig;
  bundleDir: string;
  noPivot: boolean;
  namespaces: NamespacesPlan;
  cgroup: CgroupPlan;
  /** Planned on the main thread, where the host's /proc/thread-self is still there to probe. */
  privileges: PrivilegesPlan;
  /** fd 0, 1, 2 and the preserved fds of the program, as fds of this process or 'inherit'. */
  stdio: (number | 'inherit')[];
}

/** What the launching thread reports, in this order: spawned (or error), then exit. */
export type LaunchMessage =
  | { type: 'spawned'; pid: number; tid: number }
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'error'; error: WireError };
