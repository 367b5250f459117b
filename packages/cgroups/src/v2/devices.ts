import { CtrError } from '@ctr/sys';
import type { LinuxDeviceCgroup } from '../types.ts';
import { deviceRuleLine } from '../validate.ts';

/**
 * cgroup v2 has no devices.allow: access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE
 * program attached to the cgroup. Until the compiler lands, anything but
 * "allow everything" is refused, loudly, rather than silently leaving every device
 * open to the container.
 */
export function applyDeviceRulesV2(dir: string, rules: LinuxDeviceCgroup[]): void {
  const lines = rules.map(deviceRuleLine);
  // Only a list that ends in allow-all grants everything; an empty list denies all.
  if (lines.at(-1) === 'a *:* rwm' && rules.at(-1)?.allow) return;
  throw new CtrError({
    stage: 'cgroups',
    op: 'apply device rules on cgroup v2',
    path: dir,
    hint: 'the eBPF device program (BPF_PROG_TYPE_CGROUP_DEVICE) is not implemented yet; run on a cgroup v1 or hybrid host, or remove linux.resources.devices (which leaves every device the rootfs holds accessible)',
  });
}
