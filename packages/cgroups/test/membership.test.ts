import { describe, expect, it } from 'vitest';
import { membershipAfterJoin, parseProcCgroup, planCgroup } from '../src/index.ts';
import { HYBRID_SELF, hybridHost, subtreeHost } from './hosts.ts';

describe('membershipAfterJoin', () => {
  it('says what /proc/<tid>/cgroup shows once a task joined the plan (hybrid host)', () => {
    const host = hybridHost();
    const plan = planCgroup({}, { containerId: 'c1', host });
    const after = membershipAfterJoin(plan, host);
    expect(after.memory).toBe('/process_api/abc/c1');
    expect(after.pids).toBe('/c1');
    expect(after.cpu).toBe('/c1');
    expect(after['']).toBe('/c1');
    // Hierarchies the plan does not touch stay where the caller is.
    expect(after['name=systemd']).toBe(parseProcCgroup(HYBRID_SELF)['name=systemd']);
  });

  it('maps through a mount that shows a subtree, as the kernel does (cgroup namespace)', () => {
    const host = subtreeHost();
    const plan = planCgroup({ cgroupsPath: '/kubepods/pod1/c1' }, { containerId: 'x', host });
    expect(membershipAfterJoin(plan, host)).toEqual({ '': '/kubepods/pod1/c1' });
  });
});
