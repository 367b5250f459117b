// Resource limits on the real kernel, the same tests for each driver the host can
// run: v1 (also on hybrid hosts like this one) and v2 where its unified hierarchy
// offers the resource controllers.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rawSyscall } from '@ctr/sys';
import { BUSYBOX, needsRoot, runnable } from '@ctr/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Cgroup,
  type CgroupEvent,
  detectCgroups,
  type LinuxResources,
  openCgroup,
  planCgroup,
  sharesToWeight,
} from '../src/index.ts';
import { cleanup, startInside, uniquePath, until } from './helpers.ts';

const host = detectCgroups();
const V2_NEEDED = ['memory', 'pids', 'cpu', 'cpuset'];
const drivers: { driver: 'v1' | 'v2'; missing: string | undefined }[] = [
  {
    driver: 'v1',
    missing:
      host.mode === 'v2'
        ? 'this host has no cgroup v1 controllers (cgroup v2 only)'
        : host.v1.memory &&
            host.v1.pids &&
            host.v1.cpu &&
            host.v1.cpuset &&
            host.v1.freezer &&
            host.v1.devices
          ? undefined
          : 'the v1 memory, pids, cpu, cpuset, freezer and devices controllers are not all mounted',
  },
  {
    driver: 'v2',
    missing:
      host.mode === 'v2' && V2_NEEDED.every((c) => host.v2?.controllers.includes(c))
        ? undefined
        : `this host's unified hierarchy does not offer ${V2_NEEDED.join(', ')} (${host.mode} host, v2 controllers: ${host.v2?.controllers.join(' ') || 'none'})`,
  },
];

for (const { driver, missing } of drivers)
  describe.runIf(runnable(`cgroup ${driver} resources`, needsRoot(), missing))(
    `${driver} resources on the real kernel`,
    () => {
      const made: Cgroup[] = [];
      afterEach(() => cleanup(made));

      const make = (tag: string, resources: LinuxResources = {}): Cgroup => {
        const cg = openCgroup(planCgroup({ cgroupsPath: uniquePath(tag), resources }, { containerId: tag }));
        expect(cg.driver).toBe(driver);
        made.push(cg);
        cg.create();
        cg.applyResources();
        return cg;
      };

      it('OOM-kills a memory hog over the limit and reports the OOM', async () => {
        const limit = 32 * 1024 * 1024;
        const cg = make('oom', { memory: { limit, swap: limit } });
        const events: CgroupEvent[] = [];
        const watch = cg.watchEvents((e) => events.push(e));
        try {
          const hog = await startInside(cg, 'exec dd if=/dev/zero of=/dev/null bs=100M count=1');
          expect((await hog.exited).signal).toBe('SIGKILL');
          await until('the OOM event', () => events.length > 0);
        } finally {
          watch.close();
        }
        // The event can fire as the OOM starts, before the kill is counted.
        expect(events[0]?.type).toBe('oom');
        const stats = cg.stats();
        expect(stats.memory.oomKills).toBe(1);
        expect(stats.memory.usage.limit).toBe(limit);
      });

      it('stops reporting events once the cgroup is deleted', async () => {
        const cg = make('watchdel');
        const events: CgroupEvent[] = [];
        const watch = cg.watchEvents((e) => events.push(e));
        await cg.delete();
        await new Promise((r) => setTimeout(r, 150));
        watch.close();
        expect(events).toEqual([]);
      });

      it('stops a fork loop at the pids limit', async () => {
        const cg = make('pids', { pids: { limit: 8 } });
        const loop = await startInside(cg, 'for i in $(seq 30); do sleep 30 & done; echo forked; wait');
        await until('fork failures', () => /can't fork|Resource temporarily unavailable/.test(loop.output()));
        const stats = cg.stats();
        expect(stats.pids.limit).toBe(8);
        expect(stats.pids.current).toBeLessThanOrEqual(8);
        expect(cg.pids().length).toBeLessThanOrEqual(8);
      });

      it('throttles a busy loop under a CPU quota and shows it in the stats', async () => {
        const cg = make('cpu', { cpu: { quota: 1000, period: 100000, shares: 256 } });
        const cpuDir = cg.plan.dirs.find((d) => d.controller === (driver === 'v1' ? 'cpu' : 'unified'))!.path;
        const weight = driver === 'v1' ? ['cpu.shares', '256'] : ['cpu.weight', String(sharesToWeight(256))];
        expect(readFileSync(`${cpuDir}/${weight[0]}`, 'utf8').trim()).toBe(weight[1]);
        await startInside(cg, 'while :; do :; done');
        await until('throttled periods', () => {
          const t = cg.stats().cpu.throttling;
          return t.throttledPeriods > 0 && t.throttledTime > 0;
        });
        const s = cg.stats();
        expect(s.cpu.usage.total).toBeGreaterThan(0);
        expect(s.cpu.usage.percpu?.length).toBeGreaterThan(0);
      });

      it('pins processes to the cpuset', async () => {
        const cg = make('cpuset', { cpu: { cpus: '0', mems: '0' } });
        const p = await startInside(cg, 'sleep 30');
        const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
        expect(/Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1]).toBe('0');
      });

      it('denies writing /dev/null where the device rules allow only reading it', async () => {
        const cg = make('devices', {
          devices: [
            { allow: false, access: 'rwm' },
            { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
          ],
        });
        const p = await startInside(
          cg,
          'cat /dev/null && echo read-ok; echo x > /dev/null && echo write-ok; true',
        );
        await p.exited;
        expect(p.output()).toContain('read-ok');
        expect(p.output()).not.toContain('write-ok');
        expect(p.output()).toMatch(/Operation not permitted/);
      });

      it('freezes a counter and thaws it again', async () => {
        const cg = make('freeze');
        const file = `/tmp/ctr-cg-counter-${process.pid}`;
        try {
          await startInside(cg, `i=0; while :; do i=$((i+1)); echo $i > ${file}; done`);
          const count = (): number => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim() || 0) : 0);
          await until('the counter to start', () => count() > 0);
          await cg.freeze();
          expect(cg.state()).toBe('frozen');
          const frozenAt = count();
          await new Promise((r) => setTimeout(r, 200));
          expect(count()).toBe(frozenAt);
          await cg.thaw();
          expect(cg.state()).toBe('thawed');
          await until('the counter to move again', () => count() > frozenAt);
        } finally {
          rmSync(file, { force: true });
        }
      });

      it('keeps a paused container paused for a non-KILL signal, and kills it while paused', async () => {
        const cg = make('paused');
        const p = await startInside(
          cg,
          'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 1; done',
        );
        await until('the trap', () => p.output().includes('ready'));
        await cg.freeze();
        await cg.killAll('SIGTERM');
        expect(cg.state()).toBe('frozen');
        await cg.thaw();
        await p.exited;
        expect(p.output()).toContain('got-term');
        const q = await startInside(cg, 'sleep 60');
        await cg.freeze();
        await cg.killAll();
        expect((await q.exited).signal).toBe('SIGKILL');
      });

      it.runIf(
        driver === 'v1' &&
          runnable(
            'kill-all of a process only in the unified cgroup',
            host.mode === 'hybrid' ? undefined : 'not a hybrid host',
          ),
      )(
        'kills a process placed in the unified cgroup only, and leaves an empty cgroup as it is',
        async () => {
          const cg = make('unified-only');
          await cg.killAll(); // nothing there: no freeze-signal-thaw round
          expect(cg.state()).toBe('thawed');
          const p = spawn(BUSYBOX, ['sleep', '60'], { stdio: 'ignore' });
          const exited = new Promise<NodeJS.Signals | null>((res) =>
            p.once('exit', (_, signal) => res(signal)),
          );
          await new Promise((res) => p.once('spawn', res));
          const unified = cg.plan.dirs.find((d) => d.controller === 'unified')!.path;
          writeFileSync(`${unified}/cgroup.procs`, String(p.pid));
          expect(cg.pids()).toEqual([]); // the v1 trees do not show it
          await cg.killAll();
          expect(await exited).toBe('SIGKILL');
        },
      );

      it('kills every process and deletes every directory, nested ones included', async () => {
        const cg = make('kill');
        const p = await startInside(cg, 'for i in 1 2 3 4 5; do sleep 60 & done; wait');
        await until('six processes', () => cg.pids().length === 6);
        const nested = `${cg.plan.dirs.find((d) => d.controller === (driver === 'v1' ? 'pids' : 'unified'))!.path}/nested`;
        mkdirSync(nested);
        await cg.killAll();
        expect((await p.exited).signal).toBe('SIGKILL');
        expect(cg.pids()).toEqual([]);
        await cg.delete();
        for (const d of cg.plan.dirs) expect(existsSync(d.path), d.path).toBe(false);
      });

      it('raises and lowers memory and memsw together in either order (update)', async () => {
        const mb = 1024 * 1024;
        const cg = make('update', { memory: { limit: 32 * mb, swap: 32 * mb } });
        // v1 reports memory+swap, v2 swap alone.
        const swapLimit = (total: number, limit: number) => (driver === 'v1' ? total : total - limit);
        cg.update({ memory: { limit: 64 * mb, swap: 128 * mb } });
        expect(cg.stats().memory.usage.limit).toBe(64 * mb);
        expect(cg.stats().memory.swap.limit).toBe(swapLimit(128 * mb, 64 * mb));
        cg.update({ memory: { limit: 16 * mb, swap: 32 * mb } });
        expect(cg.stats().memory.usage.limit).toBe(16 * mb);
        expect(cg.stats().memory.swap.limit).toBe(swapLimit(32 * mb, 16 * mb));
        if (driver === 'v1') {
          expect(() => cg.update({ memory: { swap: 8 * mb } })).toThrow(
            /memory.swap = 8388608.*limit in force \(16777216/,
          );
        }
      });

      it('refuses a limit below current usage with checkBeforeUpdate, naming the usage', async () => {
        const cg = make('check');
        const file = `/dev/shm/ctr-cg-check-${process.pid}`;
        try {
          // tmpfs pages written from inside are charged to the cgroup until removed.
          const p = await startInside(cg, `dd if=/dev/zero of=${file} bs=1M count=8 2>/dev/null`);
          await p.exited;
          expect(() => cg.update({ memory: { limit: 1024 * 1024, checkBeforeUpdate: true } })).toThrow(
            /lower memory.limit to 1048576.*uses \d+ bytes/,
          );
        } finally {
          rmSync(file, { force: true });
        }
      });

      it('reports a bad value with the file and the kernel errno', () => {
        const cg = make('bad');
        expect(() => cg.update({ cpu: { cpus: '63' } })).toThrow(
          /cgroups: write "63" to cpuset.cpus .*: (ERANGE|EINVAL) — /,
        );
      });

      it.runIf(driver === 'v1')(
        'places a thread through tasks so the child it spawns is born inside',
        async () => {
          const cg = make('thread');
          const tid = rawSyscall('gettid', []);
          const home = readFileSync('/proc/thread-self/cgroup', 'utf8');
          const back = (): void => {
            for (const line of home.split('\n')) {
              const [, ctl, path] = line.split(':');
              if (!ctl || ctl === '' || ctl.startsWith('name=') || path === undefined) continue;
              const mount = host.v1[ctl as 'memory'];
              if (mount) writeFileSync(`${mount.mountpoint}${path}/tasks`, String(tid));
            }
          };
          let child: ChildProcess;
          try {
            cg.addThread(tid);
            child = spawn('/bin/busybox', ['sleep', '30']);
          } finally {
            back();
          }
          try {
            expect(cg.pids()).toEqual([child.pid]);
          } finally {
            child.kill('SIGKILL');
          }
          expect(readFileSync('/proc/thread-self/cgroup', 'utf8')).toBe(home);
        },
      );
    },
  );
