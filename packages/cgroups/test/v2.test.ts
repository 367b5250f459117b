import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type Cgroup,
  type CgroupEvent,
  cgroupHostFrom,
  detectCgroups,
  openCgroup,
  planCgroup,
  sharesToWeight,
} from '../src/index.ts';
import { cleanup, startInside, uniquePath, until } from './helpers.ts';
import { v2Host } from './hosts.ts';

describe('v1 → v2 conversions match runc', () => {
  it('maps cpu.shares onto cpu.weight with runc and crun’s current formula', () => {
    // 1024 → 100 keeps the v1 default on the v2 default, the point of runc ≥ 1.3's formula.
    expect([0, 2, 512, 1024, 2048, 262144].map(sharesToWeight)).toEqual([0, 1, 59, 100, 174, 10000]);
  });
});

describe('cgroup v2 resource files against a directory tree', () => {
  const root = makeTmp('ctr-cg2-');
  afterAll(() => removeTmp(root));

  it('writes the files and values runc writes for the same spec', () => {
    const plan = planCgroup(
      {
        cgroupsPath: '/machine/c1',
        resources: {
          memory: { limit: 104857600, reservation: 52428800, swap: 209715200, swappiness: 60 },
          cpu: { shares: 1024, quota: 50000, period: 100000, burst: 10000, cpus: '0-1', mems: '0', idle: 0 },
          pids: { limit: 100 },
          blockIO: {
            weight: 500,
            throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
            throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
          },
          hugepageLimits: [{ pageSize: '2MB', limit: 8388608 }],
          rdma: { mlx5_0: { hcaHandles: 3 } },
          unified: { 'memory.high': '94371840' },
        },
      },
      { containerId: 'c1', host: v2Host(root) },
    );
    expect(plan.driver).toBe('v2');
    const dir = join(root, 'machine/c1');
    expect(plan.dirs).toEqual([{ controller: 'unified', path: dir }]);
    expect(plan.enable.map((e) => e.dir)).toEqual([root, join(root, 'machine')]);
    expect(plan.warnings).toEqual([
      'linux.resources.memory.swappiness is ignored on cgroup v2: no per-cgroup swappiness',
    ]);

    const cg = openCgroup(plan);
    cg.create();
    // cgroupfs makes the files itself; here the tree stands in for it. io.bfq.weight is
    // left out, as on a host without BFQ, so the io.weight fallback is taken.
    for (const w of plan.writes) if (w.file !== 'io.bfq.weight') writeFileSync(join(dir, w.file), '');
    writeFileSync(join(dir, 'io.weight'), '');
    cg.applyResources();
    const file = (f: string) => readFileSync(join(dir, f), 'utf8');
    expect({
      'cpuset.cpus': file('cpuset.cpus'),
      'cpuset.mems': file('cpuset.mems'),
      'memory.swap.max': file('memory.swap.max'),
      'memory.max': file('memory.max'),
      'memory.low': file('memory.low'),
      'cpu.idle': file('cpu.idle'),
      'cpu.weight': file('cpu.weight'),
      'cpu.max': file('cpu.max'),
      'cpu.max.burst': file('cpu.max.burst'),
      'pids.max': file('pids.max'),
      'io.weight': file('io.weight'),
      'hugetlb.2MB.max': file('hugetlb.2MB.max'),
      'rdma.max': file('rdma.max'),
      'memory.high': file('memory.high'),
    }).toEqual({
      'cpuset.cpus': '0-1',
      'cpuset.mems': '0',
      'memory.swap.max': '104857600',
      'memory.max': '104857600',
      'memory.low': '52428800',
      'cpu.idle': '0',
      'cpu.weight': '100',
      'cpu.max': '50000 100000',
      'cpu.max.burst': '10000',
      'pids.max': '100',
      'io.weight': 'default 4950',
      'hugetlb.2MB.max': '8388608',
      'rdma.max': 'mlx5_0 hca_handle=3 hca_object=max',
      'memory.high': '94371840',
    });
    // io.max takes one device per write; the file keeps the last one here.
    expect(plan.writes.filter((w) => w.file === 'io.max').map((w) => w.value)).toEqual([
      '8:0 rbps=1048576',
      '8:16 wiops=300',
    ]);
  });

  it('writes "max" for unlimited values and converts quota without period', () => {
    const plan = planCgroup(
      {
        cgroupsPath: '/c2',
        resources: { memory: { limit: -1 }, cpu: { quota: -1, period: 200000 }, pids: { limit: -1 } },
      },
      { containerId: 'c2', host: v2Host(root) },
    );
    expect(plan.writes.map((w) => `${w.file}=${w.value}`)).toEqual([
      'memory.swap.max=max',
      'memory.max=max',
      'cpu.max=max 200000',
      'pids.max=max',
    ]);
  });

  it('refuses realtime CPU and bad swap on v2, and warns about v1-only settings', () => {
    const host = v2Host(root);
    expect(() =>
      planCgroup(
        { cgroupsPath: '/c', resources: { cpu: { realtimeRuntime: 1000 } } },
        { containerId: 'c', host },
      ),
    ).toThrow(/no realtime CPU budget/);
    expect(() =>
      planCgroup({ cgroupsPath: '/c', resources: { memory: { swap: 100 } } }, { containerId: 'c', host }),
    ).toThrow(/needs a memory limit/);
    const p = planCgroup(
      { cgroupsPath: '/c', resources: { network: { classID: 1 }, memory: { disableOOMKiller: true } } },
      { containerId: 'c', host },
    );
    expect(p.writes).toEqual([]);
    expect(p.warnings).toHaveLength(2);
  });

  it('fails loudly when the device program cannot be attached instead of leaving devices open', () => {
    const plan = planCgroup(
      { cgroupsPath: '/devs', resources: { devices: [{ allow: false, access: 'rwm' }] } },
      { containerId: 'd', host: v2Host(root) },
    );
    const cg = openCgroup(plan);
    cg.create();
    expect(plan.deviceProgram?.at(-2)).toBe('  6: r0 = 0');
    // A plain directory is not a cgroup: the kernel refuses the attach, and so does ctr.
    expect(() => cg.applyResources()).toThrow(/cgroups: attach the device program .*devs: EBADF/);
  });

  it('reads v2 stats into the shape runc prints (ns, memory+swap split, io per device)', () => {
    const plan = planCgroup({ cgroupsPath: '/stats' }, { containerId: 's', host: v2Host(root) });
    const cg = openCgroup(plan);
    cg.create();
    const dir = plan.dirs[0]!.path;
    const files: Record<string, string> = {
      'memory.current': '8192\n',
      'memory.peak': '16384\n',
      'memory.max': 'max\n',
      'memory.stat': 'anon 4096\nfile 2048\nkernel 1024\n',
      'memory.events': 'low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\n',
      'memory.swap.current': '0\n',
      'memory.swap.max': '1048576\n',
      'cpu.stat':
        'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 250\n',
      'pids.current': '3\n',
      'pids.max': '64\n',
      'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
    };
    for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), v);
    const s = cg.stats();
    expect(s.memory).toMatchObject({
      cache: 2048,
      rss: 4096,
      usage: { usage: 8192, max: 16384, limit: undefined, failcnt: 5 },
      swap: { usage: 0, limit: 1048576 },
      oomKills: 1,
    });
    expect(s.cpu).toEqual({
      usage: { total: 1_500_000, user: 1_000_000, kernel: 500_000 },
      throttling: { periods: 10, throttledPeriods: 3, throttledTime: 250_000 },
    });
    expect(s.pids).toEqual({ current: 3, limit: 64 });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 8192 },
    ]);
    expect(s.blkio.ioServicedRecursive).toHaveLength(2);
  });

  it('reports OOM from memory.events through inotify', async () => {
    const plan = planCgroup({ cgroupsPath: '/oom' }, { containerId: 'o', host: v2Host(root) });
    const cg = openCgroup(plan);
    cg.create();
    const events = join(plan.dirs[0]!.path, 'memory.events');
    writeFileSync(events, 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n');
    const seen: CgroupEvent[] = [];
    const watch = cg.watchEvents((e) => seen.push(e));
    try {
      writeFileSync(events, 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
      await until('the OOM event', () => seen.length > 0);
    } finally {
      watch.close();
    }
    expect(seen).toEqual([{ type: 'oom', oomKills: 1 }]);
  });
});

const host = detectCgroups();
const unified = host.v2;

describe.runIf(
  runnable(
    'cgroup v2 core on the unified hierarchy',
    needsRoot(),
    unified ? undefined : 'no cgroup2 mount on this host',
  ),
)('cgroup v2 core on the real kernel', () => {
  // Only the unified mount, and no controllers to enable: on a hybrid host the
  // root's subtree_control is the host's, and the core files need none.
  const v2 = cgroupHostFrom(
    `1 1 0:1 ${unified?.root ?? '/'} ${unified?.mountpoint ?? '/'} rw - cgroup2 cgroup2 rw\n`,
    readFileSync('/proc/self/cgroup', 'utf8'),
    '',
  );
  const made: Cgroup[] = [];
  afterEach(() => cleanup(made));
  const make = (path: string): Cgroup => {
    const cg = openCgroup(planCgroup({ cgroupsPath: path }, { containerId: 'x', host: v2 }));
    made.push(cg);
    cg.create();
    return cg;
  };

  it('places processes, nests, freezes, kills through cgroup.kill and deletes', async () => {
    const top = uniquePath('v2');
    const cg = make(`${top}/c1`);
    expect(cg.driver).toBe('v2');
    expect(cg.path).toBe(`${unified?.mountpoint}${top}/c1`);
    const p = await startInside(cg, 'sleep 60 & sleep 60 & wait');
    await until('three processes', () => cg.pids().length === 3);
    expect(readFileSync(`/proc/${p.pid}/cgroup`, 'utf8')).toContain(`0::${top}/c1`);

    await cg.freeze();
    expect(cg.state()).toBe('frozen');
    expect(readFileSync(`/proc/${p.pid}/status`, 'utf8')).toMatch(/State:\s+S/);
    await cg.thaw();
    expect(cg.state()).toBe('thawed');

    mkdirSync(join(cg.path, 'nested'));
    await cg.killAll();
    expect((await p.exited).signal).toBe('SIGKILL');
    expect(cg.pids()).toEqual([]);
    await cg.delete();
    expect(existsSync(cg.path)).toBe(false);
    await openCgroup(planCgroup({ cgroupsPath: top }, { containerId: 'x', host: v2 })).delete();
    expect(existsSync(`${unified?.mountpoint}${top}`)).toBe(false);
  });

  it('signals every process with a non-KILL signal through freeze, signal, thaw', async () => {
    const cg = make(uniquePath('v2sig'));
    const p = await startInside(
      cg,
      'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 1; done',
    );
    await until('the trap', () => p.output().includes('ready'));
    await cg.killAll('SIGTERM');
    await p.exited;
    expect(p.output()).toContain('got-term');
  });

  it('refuses to move a single thread on v2, saying what to do instead', () => {
    const cg = make(uniquePath('v2thr'));
    expect(() => cg.addThread(process.pid)).toThrow(/init launcher/);
  });

  it('opens a directory fd for clone3(CLONE_INTO_CGROUP)', async () => {
    const cg = make(uniquePath('v2fd'));
    const { readlinkSync, closeSync } = await import('node:fs');
    const fd = cg.openFd();
    try {
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(cg.path);
    } finally {
      closeSync(fd);
    }
  });
});
