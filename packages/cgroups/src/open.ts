import type { Cgroup } from './cgroup.ts';
import type { CgroupHost } from './detect.ts';
import { type CgroupPlan, planCgroup } from './plan.ts';
import { V1Cgroup } from './v1/cgroup.ts';
import { V2Cgroup } from './v2/cgroup.ts';

/**
 * A handle on a container's cgroup: from its plan, or from a cgroup path (as in
 * `linux.cgroupsPath`, e.g. the one saved in the container's state) to manage an
 * existing cgroup without resources to apply.
 */
export function openCgroup(target: CgroupPlan | string, host?: CgroupHost): Cgroup {
  const plan =
    typeof target === 'string'
      ? planCgroup({ cgroupsPath: target }, { containerId: '', ...(host ? { host } : {}) })
      : target;
  return plan.driver === 'v2' ? new V2Cgroup(plan) : new V1Cgroup(plan);
}
