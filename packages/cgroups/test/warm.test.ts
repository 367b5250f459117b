import { readdirSync, readFileSync } from 'node:fs';
import { needsRoot, runnable } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { cgroupHostFrom, ownCgroupDir, warmCgroupMigration, warmupSettled } from '../src/index.ts';
import { hybridHost, subtreeHost } from './hosts.ts';

describe('ownCgroupDir', () => {
  it('names the caller’s cgroup directory in each hierarchy', () => {
    const host = hybridHost();
    expect(ownCgroupDir(host, '')).toBe('/sys/fs/cgroup/unified');
    expect(ownCgroupDir(host, 'memory')).toBe('/sys/fs/cgroup/memory/process_api/abc');
    expect(ownCgroupDir(host, 'freezer')).toBeUndefined(); // the caller's cgroup there is not known
  });

  it('maps through a mount that shows a subtree, and refuses what the mount does not show', () => {
    expect(ownCgroupDir(subtreeHost(), '')).toBe('/sys/fs/cgroup/pod1/runtime');
    const mount = '25 1 0:22 /kube /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n';
    expect(ownCgroupDir(cgroupHostFrom(mount, '0::/kube\n', ''), '')).toBe('/sys/fs/cgroup');
    // Outside the subtree, and a sibling that only shares the prefix.
    expect(ownCgroupDir(cgroupHostFrom(mount, '0::/other\n', ''), '')).toBeUndefined();
    expect(ownCgroupDir(cgroupHostFrom(mount, '0::/kubepods\n', ''), '')).toBeUndefined();
  });
});

// The distinct cgroup sets of this process's threads (libuv may start threads meanwhile).
const threadCgroups = () =>
  new Set(readdirSync('/proc/self/task').map((tid) => readFileSync(`/proc/self/task/${tid}/cgroup`, 'utf8')));

describe.runIf(runnable('cgroup migration warm-up', needsRoot()))('warmCgroupMigration', () => {
  it('moves nothing: every thread stays in its cgroups', async () => {
    const before = threadCgroups();
    const first = warmCgroupMigration();
    // One in flight at a time: a second call shares it.
    expect(warmCgroupMigration()).toBe(first);
    await warmupSettled();
    await first;
    expect(threadCgroups()).toEqual(before);
    await warmCgroupMigration();
    expect(threadCgroups()).toEqual(before);
    await expect(warmupSettled()).resolves.toBeUndefined();
  });
});
