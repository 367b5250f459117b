import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CtrError } from '@ctr/sys';
import { BaseCgroup, SETTLE_TIMEOUT_MS } from '../base.ts';
import type { CgroupEvent, EventWatch, FreezerState } from '../cgroup.ts';
import { ACCESS, type DeviceException, emulateDeviceRules } from '../devices/emulator.ts';
import {
  parseKeyValues,
  parseLimit,
  parseNumber,
  readFile,
  readOptional,
  writeFile,
  writeRaw,
} from '../files.ts';
import type { CgroupPlan, CgroupWrite } from '../plan.ts';
import { type CgroupStats, emptyStats, hugetlbStats, parseBlkioV1 } from '../stats.ts';
import type { LinuxResources } from '../types.ts';
import { invalid } from '../validate.ts';
import { watchOomV1 } from './events.ts';

export class V1Cgroup extends BaseCgroup {
  readonly driver = 'v1' as const;

  constructor(plan: CgroupPlan) {
    const first = plan.dirs.find((d) => d.controller !== 'unified') ?? plan.dirs[0];
    if (!first)
      throw new CtrError({ stage: 'cgroups', op: 'open cgroup', hint: 'no cgroup v1 controller is mounted' });
    super(plan, first.path);
  }

  protected delegationHint(dir: string, uid: number): string {
    return `ctr runs rootless and ${dir} is not writable by uid ${uid}: cgroup v1 is not delegated to unprivileged users. Run as root, use a cgroup v2 host, or have root chown ${dir} (and its cgroup.procs and tasks) to uid ${uid} in every v1 hierarchy`;
  }

  /**
   * A new cpuset cgroup starts with empty cpus and mems, and the kernel refuses
   * tasks there (ENOSPC). Copy the nearest ancestor's values down every level.
   */
  protected override prepareDirs(): void {
    const cpuset = this.dirOf('cpuset');
    if (!cpuset) return;
    const chain: string[] = [];
    let dir = cpuset;
    while ((readOptional(dir, 'cpuset.cpus') ?? '').trim() === '' && dirname(dir) !== dir) {
      chain.unshift(dir);
      dir = dirname(dir);
    }
    for (const d of chain) {
      const parent = dirname(d);
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if ((readOptional(d, file) ?? '').trim() === '') writeFile(d, file, readFile(parent, file).trim());
      }
    }
  }

  protected override orderWrites(writes: CgroupWrite[], update: LinuxResources | undefined): CgroupWrite[] {
    return this.diffDevices(this.orderMemorySwap(writes), update);
  }

  /**
   * memsw must stay >= the memory limit after every single write. Raising both
   * means memsw first, lowering both means the limit first; the live memsw value
   * decides (runc does the same).
   */
  private orderMemorySwap(writes: CgroupWrite[]): CgroupWrite[] {
    const li = writes.findIndex((w) => w.file === 'memory.limit_in_bytes');
    const si = writes.findIndex((w) => w.file === 'memory.memsw.limit_in_bytes');
    if (li < 0 || si < 0 || si < li) return writes;
    const swap = writes[si]!;
    const current = parseLimit(readOptional(swap.dir, swap.file));
    const next = Number(swap.value);
    const raising = next === -1 || (current !== undefined && next > current);
    if (!raising) return writes;
    const out = writes.filter((_, i) => i !== si);
    out.splice(li, 0, swap);
    return out;
  }

  /**
   * Updating the device rules of a running container: when both the live list and
   * the new one deny by default, write only the difference (removals first), so
   * the container never passes through "deny all" — or, worse, through a reset to
   * "allow all". devices.list shows exceptions only in deny-by-default mode, so
   * anything else falls back to the reset-and-replay writes.
   */
  private diffDevices(writes: CgroupWrite[], update: LinuxResources | undefined): CgroupWrite[] {
    const dir = this.dirOf('devices');
    const first = writes.findIndex((w) => w.controller === 'devices');
    if (!dir || !update?.devices || first < 0) return writes;
    const target = emulateDeviceRules(update.devices);
    const current = parseDevicesList(readOptional(dir, 'devices.list'));
    if (target.defaultAllow || !current) return writes;
    const key = (e: DeviceException): string => `${e.type} ${e.major ?? '*'}:${e.minor ?? '*'}`;
    const line = (e: DeviceException, bits: number): string => `${key(e)} ${accessString(bits)}`;
    const diff: CgroupWrite[] = [];
    for (const c of current) {
      const bits = c.access & ~(target.exceptions.find((t) => key(t) === key(c))?.access ?? 0);
      if (bits) diff.push({ controller: 'devices', dir, file: 'devices.deny', value: line(c, bits) });
    }
    for (const t of target.exceptions) {
      const bits = t.access & ~(current.find((c) => key(c) === key(t))?.access ?? 0);
      if (bits) diff.push({ controller: 'devices', dir, file: 'devices.allow', value: line(t, bits) });
    }
    const rest = writes.filter((w) => w.controller !== 'devices');
    rest.splice(first, 0, ...diff);
    return rest;
  }

  /** A swap-only update must still be >= the memory limit already in force. */
  protected override checkAgainstLive(resources: LinuxResources): void {
    const swap = resources.memory?.swap;
    const mem = this.dirOf('memory');
    if (!mem || swap === undefined || swap <= 0 || resources.memory?.limit !== undefined) return;
    const limit = parseLimit(readOptional(mem, 'memory.limit_in_bytes'));
    if (limit !== undefined && swap < limit) {
      throw invalid(
        'memory.swap',
        swap,
        `memory+swap must be >= the memory limit in force (${limit} in ${mem})`,
      );
    }
  }

  protected memoryUsage(): number | undefined {
    const dir = this.dirOf('memory');
    return dir ? parseLimit(readOptional(dir, 'memory.usage_in_bytes')) : undefined;
  }

  /** Joins the thread to every v1 hierarchy (`tasks`). The unified tree takes only whole processes. */
  addThread(tid: number): void {
    for (const d of new Set(this.plan.dirs.filter((x) => x.controller !== 'unified').map((x) => x.path))) {
      this.place(d, 'tasks', tid);
    }
  }

  protected procsDir(): string {
    return this.dirOf('freezer') ?? this.dirOf('pids') ?? this.path;
  }

  private freezerDir(): string {
    const dir = this.dirOf('freezer');
    if (!dir) {
      throw new CtrError({
        stage: 'cgroups',
        op: 'freeze',
        path: this.path,
        hint: 'the freezer cgroup controller is not mounted on this host',
      });
    }
    return dir;
  }

  state(): FreezerState {
    const dir = this.dirOf('freezer');
    if (!dir) return 'thawed';
    const s = (readOptional(dir, 'freezer.state') ?? 'THAWED').trim();
    return s === 'FROZEN' ? 'frozen' : s === 'FREEZING' ? 'freezing' : 'thawed';
  }

  /**
   * The v1 freezer can stay in FREEZING while a task is in a state it cannot
   * freeze yet (vfork, an fs call); writing FROZEN again retries, as runc does.
   * If it never settles, thaw and fail rather than leave a half-frozen container.
   */
  async freeze(): Promise<void> {
    const dir = this.freezerDir();
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      writeFile(dir, 'freezer.state', 'FROZEN');
      if (this.state() === 'frozen') return;
      if (Date.now() > deadline) {
        await this.thaw();
        throw new CtrError({
          stage: 'cgroups',
          op: 'freeze',
          path: dir,
          hint: 'the freezer stayed in FREEZING (a task in uninterruptible sleep); thawed again',
        });
      }
      await sleep(delay);
    }
  }

  async thaw(): Promise<void> {
    const dir = this.freezerDir();
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      writeFile(dir, 'freezer.state', 'THAWED');
      if (this.state() === 'thawed') return;
      if (Date.now() > deadline) {
        throw new CtrError({
          stage: 'cgroups',
          op: 'thaw',
          path: dir,
          hint: 'the freezer did not report THAWED',
        });
      }
      await sleep(delay);
    }
  }

  /**
   * Freeze first so nothing forks between listing and signalling (a fork bomb
   * would otherwise outrun the loop), signal every pid, thaw so the signals are
   * delivered. On hybrid hosts cgroup.kill on the unified directory backs it up.
   */
  async killAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const unified = this.dirOf('unified');
    // Nothing can enter an empty cgroup by itself (a process forks into its own), so
    // the freeze-signal-thaw round of a container that ended on its own is skipped:
    // it ends every `run`. The unified cgroup counts too: a process may be placed
    // there only.
    if (signal === 'SIGKILL' && this.pids().length === 0 && !populated(unified)) return;
    const canFreeze = this.dirOf('freezer') !== undefined;
    // A paused container stays paused for other signals (delivered on resume); a
    // v1-frozen task cannot die, so SIGKILL always thaws.
    const stayFrozen = canFreeze && signal !== 'SIGKILL' && this.state() === 'frozen';
    if (canFreeze) await this.freeze();
    try {
      this.signalEach(this.pids(), signal);
      if (signal === 'SIGKILL' && unified && existsSync(join(unified, 'cgroup.kill'))) {
        writeRaw(join(unified, 'cgroup.kill'), '1');
      }
    } finally {
      if (canFreeze && !stayFrozen) await this.thaw();
    }
    if (signal === 'SIGKILL') await this.waitEmpty();
  }

  stats(): CgroupStats {
    const s = emptyStats();
    const mem = this.dirOf('memory');
    if (mem) {
      const raw = parseKeyValues(readOptional(mem, 'memory.stat'));
      s.memory.raw = raw;
      s.memory.cache = raw.total_cache ?? raw.cache ?? 0;
      s.memory.rss = raw.total_rss ?? raw.rss ?? 0;
      s.memory.usage = {
        usage: parseNumber(readOptional(mem, 'memory.usage_in_bytes')),
        max: parseNumber(readOptional(mem, 'memory.max_usage_in_bytes')),
        limit: parseLimit(readOptional(mem, 'memory.limit_in_bytes')),
        failcnt: parseNumber(readOptional(mem, 'memory.failcnt')),
      };
      const memsw = readOptional(mem, 'memory.memsw.usage_in_bytes');
      if (memsw !== undefined) {
        s.memory.swap = {
          usage: parseNumber(memsw),
          max: parseNumber(readOptional(mem, 'memory.memsw.max_usage_in_bytes')),
          limit: parseLimit(readOptional(mem, 'memory.memsw.limit_in_bytes')),
          failcnt: parseNumber(readOptional(mem, 'memory.memsw.failcnt')),
        };
      }
      const oom = parseKeyValues(readOptional(mem, 'memory.oom_control'));
      s.memory.oomKills = oom.oom_kill ?? 0;
    }
    const acct = this.dirOf('cpuacct');
    if (acct) {
      s.cpu.usage.total = parseNumber(readOptional(acct, 'cpuacct.usage'));
      const user = readOptional(acct, 'cpuacct.usage_user');
      const sys = readOptional(acct, 'cpuacct.usage_sys');
      if (user !== undefined && sys !== undefined) {
        s.cpu.usage.user = parseNumber(user);
        s.cpu.usage.kernel = parseNumber(sys);
      } else {
        // cpuacct.stat counts USER_HZ ticks (100 per second on Linux).
        const st = parseKeyValues(readOptional(acct, 'cpuacct.stat'));
        s.cpu.usage.user = (st.user ?? 0) * 10_000_000;
        s.cpu.usage.kernel = (st.system ?? 0) * 10_000_000;
      }
      const percpu = readOptional(acct, 'cpuacct.usage_percpu');
      if (percpu !== undefined) s.cpu.usage.percpu = percpu.trim().split(/\s+/).filter(Boolean).map(Number);
    }
    const cpu = this.dirOf('cpu');
    if (cpu) {
      const st = parseKeyValues(readOptional(cpu, 'cpu.stat'));
      s.cpu.throttling = {
        periods: st.nr_periods ?? 0,
        throttledPeriods: st.nr_throttled ?? 0,
        throttledTime: st.throttled_time ?? 0,
      };
    }
    const pids = this.dirOf('pids');
    if (pids) {
      s.pids = {
        current: parseNumber(readOptional(pids, 'pids.current')),
        limit: parseLimit(readOptional(pids, 'pids.max')),
      };
    }
    const blkio = this.dirOf('blkio');
    if (blkio) {
      s.blkio.ioServiceBytesRecursive = parseBlkioV1(
        readOptional(blkio, 'blkio.throttle.io_service_bytes_recursive'),
      );
      s.blkio.ioServicedRecursive = parseBlkioV1(readOptional(blkio, 'blkio.throttle.io_serviced_recursive'));
    }
    s.hugetlb = hugetlbStats(this.dirOf('hugetlb'), 'v1') ?? hugetlbStats(this.dirOf('unified'), 'v2') ?? {};
    return s;
  }

  watchEvents(listener: (event: CgroupEvent) => void): EventWatch {
    const mem = this.dirOf('memory');
    if (!mem) {
      throw new CtrError({
        stage: 'cgroups',
        op: 'watch OOM events',
        path: this.path,
        hint: 'the memory cgroup controller is not mounted on this host',
      });
    }
    return watchOomV1(mem, listener);
  }
}

function accessString(bits: number): string {
  return `${bits & ACCESS.r ? 'r' : ''}${bits & ACCESS.w ? 'w' : ''}${bits & ACCESS.m ? 'm' : ''}`;
}

/** devices.list in deny-by-default mode ("c 1:3 rwm" lines); undefined when it allows by default. */
function parseDevicesList(text: string | undefined): DeviceException[] | undefined {
  if (text === undefined) return undefined;
  const out: DeviceException[] = [];
  for (const l of text.split('\n')) {
    if (l.trim() === '') continue;
    const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(l.trim());
    if (!m || m[1] === 'a') return undefined;
    let access = 0;
    for (const ch of m[4]!) access |= ACCESS[ch as keyof typeof ACCESS];
    out.push({
      type: m[1] as 'b' | 'c',
      major: m[2] === '*' ? undefined : Number(m[2]),
      minor: m[3] === '*' ? undefined : Number(m[3]),
      access,
    });
  }
  return out;
}

/** Whether a unified cgroup (or one nested in it) holds a process: its cgroup.events says. */
function populated(unified: string | undefined): boolean {
  if (unified === undefined) return false;
  return parseKeyValues(readOptional(unified, 'cgroup.events')).populated !== 0;
}
