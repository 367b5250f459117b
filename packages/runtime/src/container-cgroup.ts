// A container's cgroup as the runtime plans it: the config's own settings plus the
// devices every container gets. Apart from plan.ts (which also loads the seccomp
// compiler for `ctr plan`), so that `run` loads no more than it applies.
import { planCgroup } from '@ctr/cgroups';
import { DEFAULT_DEVICES } from '@ctr/rootfs';
import type { LinuxDeviceCgroup, RuntimeConfig } from '@ctr/spec';

/** The cgroup exactly as `create` plans it (with the devices every container gets). */
export function planContainerCgroup(config: RuntimeConfig, id: string) {
  const linux = config.linux ?? {};
  return planCgroup(
    { ...linux, resources: { ...linux.resources, devices: containerDeviceRules(config) } },
    { containerId: id },
  );
}

/**
 * The device cgroup rules of a container: the config's own, then what every container
 * needs whatever the config says (runc's AllowedDevices): mknod of any node (the
 * rootfs stage creates /dev), the default devices, the pty devices, and each device
 * of linux.devices. runc appends them after the config's rules, so a "deny all"
 * first still leaves these open.
 */
export function containerDeviceRules(config: RuntimeConfig): LinuxDeviceCgroup[] {
  const own = config.linux?.resources?.devices ?? [];
  // An absent major or minor is the wildcard.
  const rwm = (type: 'c' | 'b', major?: number, minor?: number): LinuxDeviceCgroup => ({
    allow: true,
    type,
    ...(major !== undefined ? { major } : {}),
    ...(minor !== undefined ? { minor } : {}),
    access: 'rwm',
  });
  return [
    ...own,
    { allow: true, type: 'c', access: 'm' },
    { allow: true, type: 'b', access: 'm' },
    ...DEFAULT_DEVICES.map((d) => rwm('c', d.major, d.minor)),
    rwm('c', 5, 1), // /dev/console
    rwm('c', 5, 2), // /dev/ptmx
    rwm('c', 136), // /dev/pts/*
    ...(config.linux?.devices ?? [])
      .filter((d) => d.type === 'c' || d.type === 'b')
      .map((d) => rwm(d.type as 'c' | 'b', d.major, d.minor)),
  ];
}
