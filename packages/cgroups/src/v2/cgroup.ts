import { existsSync, type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CtrError } from '@ctr/sys';
import { BaseCgroup, SETTLE_TIMEOUT_MS } from '../base.ts';
import type { CgroupEvent, EventWatch, FreezerState } from '../cgroup.ts';
import { fileError, parseKeyValues, parseLimit, parseNumber, readOptional, writeFile } from '../files.ts';
import type { CgroupPlan } from '../plan.ts';
import { type CgroupStats, emptyStats, hugetlbStats, parseIoStatV2 } from '../stats.ts';
import type { LinuxDeviceCgroup } from '../types.ts';
import { applyDeviceRulesV2 } from './devices.ts';

export class V2Cgroup extends BaseCgroup {
  readonly driver = 'v2' as const;

  constructor(plan: CgroupPlan) {
    const dir = plan.dirs.find((d) => d.controller === 'unified');
    if (!dir)
      throw new CtrError({ stage: 'cgroups', op: 'open cgroup', hint: 'the plan has no unified directory' });
    super(plan, dir.path);
  }

  protected delegationHint(dir: string, uid: number): string {
    return `ctr runs rootless and the cgroup ${dir} is not delegated to uid ${uid}. Run ctr inside a delegated cgroup (systemd-run --user --scope -p Delegate=yes ctr ...), or have root delegate one: chown ${uid} ${dir} ${dir}/cgroup.procs ${dir}/cgroup.subtree_control ${dir}/cgroup.threads`;
  }

  protected override applyDeviceRules(rules: LinuxDeviceCgroup[]): void {
    applyDeviceRulesV2(this.path, rules);
  }

  protected memoryUsage(): number | undefined {
    return parseLimit(readOptional(this.path, 'memory.current'));
  }

  addThread(tid: number): void {
    throw new CtrError({
      stage: 'cgroups',
      op: `add thread ${tid}`,
      path: this.path,
      hint: 'cgroup v2 moves whole processes only (a domain cgroup has no per-thread tasks file); start the container through the init launcher and use addProcess',
    });
  }

  protected procsDir(): string {
    return this.path;
  }

  state(): FreezerState {
    const want = (readOptional(this.path, 'cgroup.freeze') ?? '0').trim() === '1';
    const frozen = parseKeyValues(readOptional(this.path, 'cgroup.events')).frozen === 1;
    if (frozen) return 'frozen';
    return want ? 'freezing' : 'thawed';
  }

  private async setFrozen(frozen: boolean): Promise<void> {
    writeFile(this.path, 'cgroup.freeze', frozen ? '1' : '0');
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const settled = parseKeyValues(readOptional(this.path, 'cgroup.events')).frozen === (frozen ? 1 : 0);
      if (settled) return;
      if (Date.now() > deadline) {
        if (frozen) writeFile(this.path, 'cgroup.freeze', '0');
        throw new CtrError({
          stage: 'cgroups',
          op: frozen ? 'freeze' : 'thaw',
          path: this.path,
          hint: `cgroup.events did not report frozen ${frozen ? 1 : 0}${frozen ? '; thawed again' : ''}`,
        });
      }
      await sleep(delay);
    }
  }

  freeze(): Promise<void> {
    return this.setFrozen(true);
  }

  thaw(): Promise<void> {
    return this.setFrozen(false);
  }

  /**
   * SIGKILL goes through cgroup.kill (Linux 5.14): the kernel kills every process,
   * including ones forked while it works, which a pid loop cannot promise. Other
   * signals, and older kernels, freeze → signal each → thaw.
   */
  async killAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (signal === 'SIGKILL' && existsSync(join(this.path, 'cgroup.kill'))) {
      writeFile(this.path, 'cgroup.kill', '1');
    } else {
      // A paused container stays paused; the signal is delivered when it resumes.
      const stayFrozen = this.state() === 'frozen';
      await this.freeze();
      try {
        this.signalEach(this.pids(), signal);
      } finally {
        if (!stayFrozen) await this.thaw();
      }
    }
    if (signal === 'SIGKILL') await this.waitEmpty();
  }

  stats(): CgroupStats {
    const s = emptyStats();
    const d = this.path;
    const raw = parseKeyValues(readOptional(d, 'memory.stat'));
    s.memory.raw = raw;
    s.memory.cache = raw.file ?? 0;
    s.memory.rss = raw.anon ?? 0;
    s.memory.usage = {
      usage: parseNumber(readOptional(d, 'memory.current')),
      max: parseLimit(readOptional(d, 'memory.peak')),
      limit: parseLimit(readOptional(d, 'memory.max')),
      failcnt: parseKeyValues(readOptional(d, 'memory.events')).max ?? 0,
    };
    s.memory.swap = {
      usage: parseNumber(readOptional(d, 'memory.swap.current')),
      max: parseLimit(readOptional(d, 'memory.swap.peak')),
      limit: parseLimit(readOptional(d, 'memory.swap.max')),
    };
    s.memory.oomKills = parseKeyValues(readOptional(d, 'memory.events')).oom_kill ?? 0;
    // cpu.stat exists without the cpu controller (usage only); times are µs.
    const cpu = parseKeyValues(readOptional(d, 'cpu.stat'));
    s.cpu.usage = {
      total: (cpu.usage_usec ?? 0) * 1000,
      user: (cpu.user_usec ?? 0) * 1000,
      kernel: (cpu.system_usec ?? 0) * 1000,
    };
    s.cpu.throttling = {
      periods: cpu.nr_periods ?? 0,
      throttledPeriods: cpu.nr_throttled ?? 0,
      throttledTime: (cpu.throttled_usec ?? 0) * 1000,
    };
    s.pids = {
      current: parseNumber(readOptional(d, 'pids.current')),
      limit: parseLimit(readOptional(d, 'pids.max')),
    };
    s.blkio = parseIoStatV2(readOptional(d, 'io.stat'));
    s.hugetlb = hugetlbStats(d, 'v2') ?? {};
    return s;
  }

  /**
   * memory.events is a kernfs file that raises inotify modify events when a
   * counter changes, so fs.watch sees OOMs without polling.
   */
  watchEvents(listener: (event: CgroupEvent) => void): EventWatch {
    const file = join(this.path, 'memory.events');
    const read = (): Record<string, number> => parseKeyValues(readOptional(this.path, 'memory.events'));
    let last = read();
    let watcher: FSWatcher;
    try {
      watcher = watch(file, () => {
        if (!existsSync(file)) return;
        const now = read();
        if ((now.oom ?? 0) > (last.oom ?? 0) || (now.oom_kill ?? 0) > (last.oom_kill ?? 0)) {
          listener({ type: 'oom', oomKills: now.oom_kill ?? 0 });
        }
        last = now;
      });
    } catch (e) {
      throw fileError('watch memory.events', file, e);
    }
    watcher.on('error', () => watcher.close());
    return { close: () => watcher.close() };
  }
}
