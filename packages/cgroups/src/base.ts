// What both drivers share: directories, resource writes, placement, listing and
// removal. The drivers add what differs (freezing, killing, stats, events).
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AT, CtrError, errnoValue, O, openat } from '@ctr/sys';
import type { Cgroup, CgroupEvent, EventWatch, FreezerState } from './cgroup.ts';
import {
  cgroupTree,
  codeOf,
  fileError,
  readIds,
  readOptional,
  removeDir,
  writeFile,
  writeRaw,
} from './files.ts';
import { type CgroupPlan, type CgroupWrite, planWrites } from './plan.ts';
import type { CgroupStats } from './stats.ts';
import type { LinuxResources } from './types.ts';

/** Blocks the calling thread briefly (placement retries must stay synchronous for the launcher thread). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** How long delete, freeze and kill wait for the kernel before giving up. */
export const SETTLE_TIMEOUT_MS = 10_000;

export abstract class BaseCgroup implements Cgroup {
  readonly plan: CgroupPlan;
  abstract readonly driver: 'v1' | 'v2';
  readonly path: string;

  constructor(plan: CgroupPlan, path: string) {
    this.plan = plan;
    this.path = path;
  }

  /** Distinct directories (co-mounted v1 controllers share one). */
  protected uniqueDirs(): string[] {
    return [...new Set(this.plan.dirs.map((d) => d.path))];
  }

  protected dirOf(controller: string): string | undefined {
    return this.plan.dirs.find((d) => d.controller === controller)?.path;
  }

  create(): void {
    if (this.plan.rootless) for (const dir of this.uniqueDirs()) this.checkDelegated(dir);
    for (const step of this.plan.enable) {
      this.mkdir(step.dir);
      this.enableControllers(step.dir, step.controllers);
    }
    for (const dir of this.uniqueDirs()) this.mkdir(dir);
    this.prepareDirs();
  }

  /**
   * Rootless: only a delegated subtree (owned by the caller) is writable. Check
   * before touching anything, and say exactly which directory needs delegating.
   */
  private checkDelegated(dir: string): void {
    let target = dir;
    while (!existsSync(target) && dirname(target) !== target) target = dirname(target);
    const probe = target === dir ? join(dir, 'cgroup.procs') : target;
    try {
      accessSync(probe, constants.W_OK);
    } catch {
      throw new CtrError({
        stage: 'cgroups',
        op: 'create cgroup',
        path: dir,
        errno: errnoValue('EACCES'),
        hint: this.delegationHint(target, process.geteuid?.() ?? -1),
      });
    }
  }

  /** What to delegate so a rootless caller can manage `dir`. */
  protected abstract delegationHint(dir: string, uid: number): string;

  /** Driver hook run after the directories exist (v1 cpuset needs cpus and mems before any task joins). */
  protected prepareDirs(): void {}

  private mkdir(dir: string): void {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw fileError('create cgroup', dir, e);
    }
  }

  /**
   * Turns controllers on for the children of `dir`. A controller no write needs may
   * fail to enable (an ancestor with processes of its own, a threaded subtree) without
   * harm, as runc treats it; one the plan writes to must be there.
   */
  private enableControllers(dir: string, wanted: string[]): void {
    const available = (readOptional(dir, 'cgroup.controllers') ?? '').split(/\s+/);
    const enabled = (readOptional(dir, 'cgroup.subtree_control') ?? '').split(/\s+/);
    const needed = new Set(
      this.plan.writes.filter((w) => w.controller === 'unified').map((w) => w.file.split('.')[0]),
    );
    for (const c of wanted) {
      if (!available.includes(c) || enabled.includes(c)) continue;
      try {
        writeRaw(join(dir, 'cgroup.subtree_control'), `+${c}`);
      } catch (e) {
        if (!needed.has(c)) continue;
        throw new CtrError({
          stage: 'cgroups',
          op: `enable the ${c} controller`,
          path: join(dir, 'cgroup.subtree_control'),
          errno: errnoValue(codeOf(e) ?? ''),
          hint:
            codeOf(e) === 'EBUSY'
              ? `${dir} has processes of its own, and cgroup v2 enables controllers only below cgroups without them; use an absolute cgroupsPath outside it`
              : `the ${c} controller is needed by linux.resources and cannot be enabled in ${dir}`,
          cause: e,
        });
      }
    }
  }

  applyResources(resources?: LinuxResources): void {
    const writes = resources ? planWrites(this.plan, resources) : this.plan.writes;
    if (resources?.memory?.checkBeforeUpdate) this.checkMemoryAgainstUsage(resources.memory.limit);
    if (resources?.memory) this.checkAgainstLive(resources);
    for (const w of this.orderWrites(writes, resources)) this.write(w);
    const rules = resources ? resources.devices : this.plan.deviceRules;
    if (rules !== undefined) this.applyDeviceRules(rules);
  }

  update(resources: LinuxResources): void {
    this.applyResources(resources);
  }

  /** Driver hook: reorder or narrow writes against live values (v1 memory/memsw, device diffs on update). */
  protected orderWrites(writes: CgroupWrite[], _update: LinuxResources | undefined): CgroupWrite[] {
    return writes;
  }

  /** Driver hook: v2 device rules (v1 rules are ordinary writes). */
  protected applyDeviceRules(_rules: NonNullable<LinuxResources['devices']>): void {}

  protected abstract memoryUsage(): number | undefined;

  /** Driver hook: checks an update against values it leaves unchanged (v1: swap against the live limit). */
  protected checkAgainstLive(_resources: LinuxResources): void {}

  private checkMemoryAgainstUsage(limit: number | undefined): void {
    if (limit === undefined || limit <= 0) return;
    const usage = this.memoryUsage();
    if (usage !== undefined && usage > limit) {
      throw new CtrError({
        stage: 'cgroups',
        op: `lower memory.limit to ${limit}`,
        path: this.path,
        hint: `the cgroup uses ${usage} bytes now and memory.checkBeforeUpdate is set; raise the limit or free memory first`,
      });
    }
  }

  protected write(w: CgroupWrite): void {
    const path = join(w.dir, w.file);
    try {
      writeRaw(path, w.value);
    } catch (e) {
      if (codeOf(e) === 'ENOENT' && w.fallback && existsSync(w.dir)) {
        writeFile(w.dir, w.fallback.file, w.fallback.value);
        return;
      }
      throw fileError(`write "${w.value}" to ${w.file}`, path, e);
    }
  }

  addProcess(pid: number): void {
    for (const dir of this.uniqueDirs()) this.place(dir, 'cgroup.procs', pid);
  }

  abstract addThread(tid: number): void;

  /**
   * Writes an id into cgroup.procs or tasks. EINVAL right after fork means the
   * task is still TASK_NEW and not movable yet; runc retries the same way.
   */
  protected place(dir: string, file: string, id: number): void {
    for (let attempt = 0; ; attempt++) {
      try {
        writeRaw(join(dir, file), String(id));
        return;
      } catch (e) {
        if (codeOf(e) === 'EINVAL' && attempt < 5) {
          sleepSync(30);
          continue;
        }
        if (codeOf(e) === 'ESRCH') {
          throw new CtrError({
            stage: 'cgroups',
            op: `add ${id} to ${file}`,
            path: join(dir, file),
            hint: 'the process exited before it could be placed',
            cause: e,
          });
        }
        throw fileError(`add ${id} to ${file}`, join(dir, file), e);
      }
    }
  }

  openFd(): number {
    return openat(AT.FDCWD, this.path, O.PATH | O.DIRECTORY);
  }

  exists(): boolean {
    return existsSync(this.path);
  }

  /** The directory whose cgroup.procs lists the container's processes. */
  protected abstract procsDir(): string;

  pids(): number[] {
    const all = new Set<number>();
    for (const d of cgroupTree(this.procsDir())) for (const pid of readIds(d, 'cgroup.procs')) all.add(pid);
    return [...all].sort((a, b) => a - b);
  }

  abstract freeze(): Promise<void>;
  abstract thaw(): Promise<void>;
  abstract state(): FreezerState;
  abstract killAll(signal?: NodeJS.Signals): Promise<void>;
  abstract stats(): CgroupStats;
  abstract watchEvents(listener: (event: CgroupEvent) => void): EventWatch;

  /** Signals each pid, ignoring ones that exited meanwhile. */
  protected signalEach(pids: number[], signal: NodeJS.Signals): void {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch (e) {
        if (codeOf(e) !== 'ESRCH') throw fileError(`send ${signal} to ${pid}`, this.path, e);
      }
    }
  }

  /** Resolves once no process is left, or throws naming the stragglers. */
  protected async waitEmpty(): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const left = this.pids();
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        throw new CtrError({
          stage: 'cgroups',
          op: 'wait for the cgroup to empty',
          path: this.path,
          hint: `processes ${left.join(', ')} are still there (stuck in uninterruptible sleep?)`,
        });
      }
      await sleep(delay);
    }
  }

  async delete(): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (const dir of this.uniqueDirs()) {
      // Most containers make no cgroups of their own: one rmdir, no listing (a
      // cgroupfs readdir is slow, and delete ends every run).
      if (removeDir(dir) === 'removed') continue;
      // Nested cgroups the container made (it may own its cgroup namespace) go first.
      for (const d of cgroupTree(dir)) {
        for (let delay = 1; removeDir(d) === 'busy'; delay = Math.min(delay * 2, 100)) {
          if (Date.now() > deadline) {
            const left = readIds(d, 'cgroup.procs');
            throw new CtrError({
              stage: 'cgroups',
              op: 'remove cgroup',
              path: d,
              hint: left.length
                ? `processes ${left.join(', ')} are still inside; kill them first (ctr kill --all)`
                : 'the kernel still reports the cgroup busy',
            });
          }
          await sleep(delay);
        }
      }
    }
  }
}
