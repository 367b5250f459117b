import { CtrError } from '@ctr/sys';
import { describe, expect, it } from 'vitest';
import { cgroupHostFrom, parseCgroupsPath, planCgroup } from '../src/index.ts';
import { HYBRID_MOUNTINFO, hybridHost, subtreeHost, v2Host } from './hosts.ts';

const writesOf = (plan: ReturnType<typeof planCgroup>) => plan.writes.map((w) => `${w.file}=${w.value}`);

describe('detectCgroups facts', () => {
  it('reads a hybrid host: v1 controllers, the unified tree and its controllers', () => {
    const host = hybridHost();
    expect(host.mode).toBe('hybrid');
    expect(host.v1.memory?.mountpoint).toBe('/sys/fs/cgroup/memory');
    expect(host.v1.cpuacct?.mountpoint).toBe('/sys/fs/cgroup/cpuacct');
    expect(Object.keys(host.v1)).not.toContain('name=systemd');
    expect(host.v2).toEqual({ mountpoint: '/sys/fs/cgroup/unified', root: '/', controllers: ['hugetlb'] });
    expect(host.self.memory).toBe('/process_api/abc');
    expect(host.self['']).toBe('/');
  });

  it('tells v1-only and v2-only hosts apart and reads co-mounted controllers', () => {
    const v1 = cgroupHostFrom(
      '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n',
      '1:cpu,cpuacct:/a\n',
      undefined,
    );
    expect(v1.mode).toBe('v1');
    expect(v1.v1.cpu).toEqual(v1.v1.cpuacct);
    expect(v1.self.cpuacct).toBe('/a');
    expect(v2Host().mode).toBe('v2');
  });

  it('maps cgroups through a mount that shows a subtree (cgroup namespace)', () => {
    const host = subtreeHost();
    const plan = planCgroup({ cgroupsPath: '/kubepods/pod1/c1' }, { containerId: 'x', host });
    expect(plan.dirs).toEqual([{ controller: 'unified', path: '/sys/fs/cgroup/pod1/c1' }]);
  });

  it('puts relative v2 paths next to the runtime, whose own cgroup holds processes (as runc)', () => {
    const plan = planCgroup({ cgroupsPath: 'c1' }, { containerId: 'x', host: v2Host() });
    expect(plan.dirs).toEqual([{ controller: 'unified', path: '/sys/fs/cgroup/user.slice/c1' }]);
    expect(plan.enable.map((e) => e.dir)).toEqual(['/sys/fs/cgroup', '/sys/fs/cgroup/user.slice']);
  });
});

describe('cgroupsPath', () => {
  it('defaults to the container id relative to the runtime cgroup, per hierarchy', () => {
    const plan = planCgroup({}, { containerId: 'c1', host: hybridHost() });
    expect(plan.driver).toBe('v1');
    const dir = (c: string) => plan.dirs.find((d) => d.controller === c)?.path;
    expect(dir('memory')).toBe('/sys/fs/cgroup/memory/process_api/abc/c1');
    expect(dir('pids')).toBe('/sys/fs/cgroup/pids/c1');
    expect(dir('unified')).toBe('/sys/fs/cgroup/unified/c1');
    expect(dir('name=systemd')).toBeUndefined();
  });

  it('uses an absolute path as is and a given runtime cgroup for relative ones', () => {
    const abs = planCgroup({ cgroupsPath: '/ctr/c1' }, { containerId: 'c1', host: hybridHost() });
    expect(abs.dirs.find((d) => d.controller === 'memory')?.path).toBe('/sys/fs/cgroup/memory/ctr/c1');
    const rel = planCgroup(
      { cgroupsPath: 'c1' },
      { containerId: 'c1', host: hybridHost(), runtimeCgroup: '/rt' },
    );
    expect(rel.dirs.find((d) => d.controller === 'memory')?.path).toBe('/sys/fs/cgroup/memory/rt/c1');
  });

  it('rejects the systemd form, .. components and the root cgroup with a hint', () => {
    expect(() => parseCgroupsPath('system.slice:ctr:c1', 'c1')).toThrow(/systemd "slice:prefix:name"/);
    expect(() => parseCgroupsPath('/a/../../etc', 'c1')).toThrow(CtrError);
    expect(() => parseCgroupsPath('/', 'c1')).toThrow(/root cgroup/);
  });
});

describe('v1 resource writes', () => {
  const host = hybridHost();
  const plan = (resources: object) =>
    planCgroup({ cgroupsPath: '/ctr/c1', resources }, { containerId: 'c1', host });

  it('writes memory, cpu, cpuset, pids and blkio files with the values of the spec', () => {
    const p = plan({
      memory: {
        limit: 104857600,
        reservation: 52428800,
        swap: 209715200,
        swappiness: 10,
        disableOOMKiller: true,
      },
      cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, cpus: '0-1', mems: '0', idle: 0 },
      pids: { limit: 64 },
      blockIO: {
        weight: 300,
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      },
    });
    expect(writesOf(p)).toEqual([
      'cpuset.cpus=0-1',
      'cpuset.mems=0',
      'memory.limit_in_bytes=104857600',
      'memory.memsw.limit_in_bytes=209715200',
      'memory.soft_limit_in_bytes=52428800',
      'memory.swappiness=10',
      'memory.oom_control=1',
      'cpu.shares=512',
      'cpu.cfs_period_us=100000',
      'cpu.cfs_quota_us=50000',
      'cpu.cfs_burst_us=1000',
      'cpu.idle=0',
      'pids.max=64',
      'blkio.weight=300',
      'blkio.throttle.read_bps_device=8:0 1048576',
      'blkio.throttle.write_iops_device=8:0 100',
    ]);
    expect(p.writes.find((w) => w.file === 'blkio.weight')?.fallback?.file).toBe('blkio.bfq.weight');
    expect(p.writes.find((w) => w.file === 'pids.max')?.dir).toBe('/sys/fs/cgroup/pids/ctr/c1');
  });

  it('turns device rules into a deny-all reset followed by the rules in order', () => {
    const p = plan({
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 136, access: 'rw' },
        { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
      ],
    });
    expect(writesOf(p)).toEqual([
      'devices.deny=a',
      'devices.deny=a *:* rwm',
      'devices.allow=c 1:3 rwm',
      'devices.allow=c 136:* rw',
      'devices.deny=c 1:3 w',
    ]);
  });

  it('puts hugetlb limits on the unified tree when only v2 offers hugetlb (hybrid)', () => {
    const p = plan({ hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] });
    expect(p.writes).toEqual([
      {
        controller: 'unified',
        dir: '/sys/fs/cgroup/unified/ctr/c1',
        file: 'hugetlb.2MB.max',
        value: '4194304',
      },
    ]);
    expect(p.enable).toEqual([
      { dir: '/sys/fs/cgroup/unified', controllers: ['hugetlb'] },
      { dir: '/sys/fs/cgroup/unified/ctr', controllers: ['hugetlb'] },
    ]);
  });

  it('validates values before anything is written, naming the field', () => {
    expect(() => plan({ memory: { limit: 200, swap: 100 } })).toThrow(/memory.swap = 100.*>= memory.limit/);
    expect(() => plan({ memory: { swappiness: 101 } })).toThrow(/memory.swappiness/);
    expect(() => plan({ cpu: { cpus: '0-1;2' } })).toThrow(/cpu.cpus/);
    expect(() => plan({ cpu: { shares: 1 } })).toThrow(/cpu.shares/);
    expect(() => plan({ devices: [{ allow: true, type: 'x' }] })).toThrow(/devices\[0\].type/);
    expect(() => plan({ devices: [{ allow: true, type: 'c', access: 'rx' }] })).toThrow(
      /devices\[0\].access/,
    );
    expect(() => plan({ network: { classID: 1 } })).toThrow(/net_cls cgroup controller is not mounted/);
    expect(() => plan({ unified: { 'cgroup.procs': '1' } })).toThrow(/unified\["cgroup.procs"\]/);
    expect(() => plan({ unified: { '../x': '1' } })).toThrow(CtrError);
  });

  it('rejects unified keys on a v1-only host', () => {
    const v1 = cgroupHostFrom(HYBRID_MOUNTINFO.split('\n').slice(0, -2).join('\n'), '', undefined);
    expect(v1.mode).toBe('v1');
    expect(() =>
      planCgroup(
        { cgroupsPath: '/c', resources: { unified: { 'memory.high': '1' } } },
        { containerId: 'c', host: v1 },
      ),
    ).toThrow(/only cgroup v1/);
  });
});
