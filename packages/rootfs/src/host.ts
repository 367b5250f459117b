import { readFileSync } from 'node:fs';
import type { HostCgroupMount } from './types.ts';

/** Parses mountinfo text into the cgroup hierarchies mounted under /sys/fs/cgroup. */
export function parseCgroupMounts(mountinfo: string): HostCgroupMount[] {
  const out: HostCgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fstype, , superOptions = ''] = right.split(' ');
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || !mountPoint) continue;
    if (mountPoint !== '/sys/fs/cgroup' && !mountPoint.startsWith('/sys/fs/cgroup/')) continue;
    const name = mountPoint.slice('/sys/fs/cgroup'.length).replace(/^\//, '');
    if (name.includes('/')) continue;
    out.push({
      name,
      type: fstype,
      options: superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro' && o !== ''),
    });
  }
  return out;
}

/** The host's cgroup hierarchies, from this process's mount table. */
export function readHostCgroups(): HostCgroupMount[] {
  return parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
}
