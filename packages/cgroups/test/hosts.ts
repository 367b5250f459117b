// Host layouts for plan tests, as the kernel prints them in /proc/self/mountinfo.
import { type CgroupHost, cgroupHostFrom } from '../src/index.ts';

export const HYBRID_MOUNTINFO = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

export const HYBRID_SELF = `9:name=systemd:/
8:pids:/
4:memory:/process_api/abc
1:cpu:/
0::/
`;

export function hybridHost(): CgroupHost {
  return cgroupHostFrom(HYBRID_MOUNTINFO, HYBRID_SELF, 'hugetlb\n');
}

/** A pure cgroup v2 host whose hierarchy is mounted at `mountpoint` (a temp dir in tests). */
export function v2Host(
  mountpoint = '/sys/fs/cgroup',
  controllers = 'cpuset cpu io memory hugetlb pids rdma misc',
): CgroupHost {
  return cgroupHostFrom(
    `25 1 0:22 / ${mountpoint.replaceAll(' ', '\\040')} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`,
    '0::/user.slice/session-1.scope\n',
    controllers,
  );
}

/** A v2 host whose mount shows only the /kubepods subtree (as inside a cgroup namespace). */
export function subtreeHost(): CgroupHost {
  return cgroupHostFrom(
    '25 1 0:22 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n',
    '0::/kubepods/pod1/runtime\n',
    'memory pids',
  );
}
