import type { CgroupPlan } from './plan.ts';
import type { CgroupStats } from './stats.ts';
import type { LinuxResources } from './types.ts';

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

/** Something the kernel reported about the cgroup. */
export type CgroupEvent =
  /** The cgroup hit its memory limit; `oomKills` processes were killed so far. */
  { type: 'oom'; oomKills: number };

export interface EventWatch {
  close(): void;
}

/** A container's cgroup, on whichever hierarchy the host has. */
export interface Cgroup {
  readonly plan: CgroupPlan;
  readonly driver: 'v1' | 'v2';
  /**
   * The directory a child is placed through: the v2 directory (also the target of
   * clone3 CLONE_INTO_CGROUP via openFd), or on v1 the first controller's one;
   * `plan.dirs` has every directory.
   */
  readonly path: string;
  /** Makes every directory (enabling v2 controllers on the way) and prepares cpuset. */
  create(): void;
  /** Writes the plan's resource values, or those of `resources` when given. */
  applyResources(resources?: LinuxResources): void;
  /** Changes limits of a running container (`ctr update`): the same writes, ordered against the live values. */
  update(resources: LinuxResources): void;
  /** Moves a whole process (every thread) into the cgroup in every hierarchy. */
  addProcess(pid: number): void;
  /**
   * v1 only: moves one thread (`tasks`). A sacrificial thread joins before it
   * spawns, so the child is born inside and never runs outside its limits.
   */
  addThread(tid: number): void;
  /** An O_PATH directory fd of `path`, for clone3(CLONE_INTO_CGROUP). Close it. */
  openFd(): number;
  /** Stops every process and resolves when the kernel reports the cgroup frozen. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  state(): FreezerState;
  /** Whether the cgroup directory exists. */
  exists(): boolean;
  /** Every process in the cgroup and its descendants. */
  pids(): number[];
  /** Signals every process; with SIGKILL resolves once the cgroup is empty. */
  killAll(signal?: NodeJS.Signals): Promise<void>;
  stats(): CgroupStats;
  /** Reports OOM events until closed. */
  watchEvents(listener: (event: CgroupEvent) => void): EventWatch;
  /** Removes every directory (nested ones first), retrying while exiting processes linger. */
  delete(): Promise<void>;
}
