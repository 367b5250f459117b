import { posix } from 'node:path';
import type { CgroupHost, V1Controller } from './detect.ts';
import type { CgroupPlan } from './plan.ts';

/**
 * What /proc/<tid>/cgroup will say, parsed as parseProcCgroup parses it, of a task of
 * the calling process once it has joined every cgroup of `plan`: a caller can plan for
 * a thread (the container's cgroup mounts need these paths) before the thread joins.
 * Paths are relative to each hierarchy's root, as the kernel shows them.
 */
export function membershipAfterJoin(plan: CgroupPlan, host: CgroupHost): Record<string, string> {
  const out = { ...host.self };
  for (const { controller, path } of plan.dirs) {
    const unified = controller === 'unified';
    const mount = unified ? host.v2 : host.v1[controller as V1Controller];
    if (!mount) continue;
    out[unified ? '' : controller] = posix.join(mount.root, posix.relative(mount.mountpoint, path));
  }
  return out;
}
