import type { Linux, Process, RuntimeConfig } from '@ctr/spec';

export type { LinuxDevice, Mount, RootfsPropagation } from '@ctr/spec';

/** The parts of the runtime config this stage reads; a RuntimeConfig is one. */
export type RootfsConfig = Pick<RuntimeConfig, 'root' | 'mounts'> & {
  process?: Pick<Process, 'terminal'> | undefined;
  linux?:
    | Pick<
        Linux,
        | 'namespaces'
        | 'devices'
        | 'maskedPaths'
        | 'readonlyPaths'
        | 'sysctl'
        | 'rootfsPropagation'
        | 'uidMappings'
      >
    | undefined;
};

/** A cgroup hierarchy mounted on the host (from /proc/self/mountinfo). */
export interface HostCgroupMount {
  /** Directory name under /sys/fs/cgroup: "cpu,cpuacct", "memory", "unified", or "" for a pure v2 host. */
  name: string;
  type: 'cgroup' | 'cgroup2';
  /** v1 controller options as the kernel lists them ("cpu,cpuacct"; "none,name=systemd"). */
  options: string[];
}

export interface RootfsHost {
  /** Directory relative paths of the config are resolved against. */
  bundleDir: string;
  /** Use MS_MOVE + chroot instead of pivot_root (runc --no-pivot, for a ramfs root). */
  noPivot?: boolean | undefined;
  /** The host's cgroup hierarchies, for a "cgroup" mount (readRootfsHost fills them). */
  cgroups?: HostCgroupMount[] | undefined;
  /**
   * The container's own cgroup, as /proc/<init>/cgroup lists it: controller (or
   * "name=…", or "" for v2) → path. Without a new cgroup namespace each hierarchy is
   * then bind-mounted from that cgroup, so the container sees its own cgroup only and
   * not the host's tree with every other container in it (as runc does).
   */
  cgroupPaths?: Record<string, string> | undefined;
}
