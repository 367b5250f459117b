import { closeSync, constants as fs, openSync, writeFile as writeFileCb } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { planPrivileges, probePrivilegesHost } from '@ctr/capabilities';
import {
  type CgroupPlan,
  currentCgroups,
  detectCgroups,
  membershipAfterJoin,
  openCgroup,
  ownCgroupDir,
  warmCgroupMigration,
  warmupSettled,
} from '@ctr/cgroups';
import { type ChildExit, type NamespacesPlan, planNamespaces } from '@ctr/namespaces';
import { planRootfs, readHostCgroups } from '@ctr/rootfs';
import { CtrError, getDumpable, O, setChildSubreaper, setDumpable } from '@ctr/sys';
import { type Bundle, loadBundle } from '../bundle.ts';
import { planContainerCgroup } from '../container-cgroup.ts';
import { exitStatus, forwardSignals } from '../foreground.ts';
import { runHooks } from '../hooks.ts';
import { lockContainer } from '../lock.ts';
import { deleteContainer } from '../operations/delete.ts';
import { destroy } from '../operations/destroy.ts';
import type { RunOptions } from '../operations/run.ts';
import { writePidFile } from '../pid-file.ts';
import { procInfo } from '../proc.ts';
import { ociState } from '../status.ts';
import { type ContainerRecord, ContainerStore, creatingRecord } from '../store.ts';
import { fromWire } from '../wire-error.ts';
import { fastRunBlocker } from './eligible.ts';
import { discardPrestartedWorker, endLaunchingWorker, takeLaunchingWorker } from './launching-worker.ts';
import type { LaunchMessage, LaunchRequest } from './protocol.ts';

/**
 * A cgroup file write on libuv's thread pool. Not node:fs/promises: loading it loads
 * readline and more, ~8 ms of every `ctr run`, for the two writes made here.
 */
const writeFile = promisify(writeFileCb) as (path: string, data: string) => Promise<void>;

export interface FastRunOptions extends RunOptions {
  /** Told which launcher runs the container, and why not the fast one. */
  onLauncher?: (launcher: 'fast' | 'init', reason?: string) => void;
}

/**
 * `run` in the foreground with one Node process: a throw-away Worker joins the
 * container's cgroups, makes its namespaces and root, drops privileges, installs
 * seccomp and spawns the program itself as the container's pid 1; this thread keeps
 * its privileges to write the state, forward signals, wait and clean up. Throws a
 * CtrError naming the reason when the config needs the init launcher (see
 * fastRunBlocker); `runWithFastestLauncher` falls back instead.
 *
 * Process-wide effects while the container runs: ctr is its subreaper (unless
 * noSubreaper), shares its rlimits and oom score, and on a hybrid cgroup host sits in
 * its unified cgroup until the program is spawned.
 */
export async function runFast(opts: FastRunOptions): Promise<number> {
  const started = await launchFast(opts, false);
  return started === undefined ? 255 : started;
}

/** `run` through the fast launcher when the config allows it, else through the init launcher. */
export async function runWithFastestLauncher(opts: FastRunOptions): Promise<number> {
  const status = await launchFast(opts, true);
  if (status !== undefined) return status;
  // Loaded only when needed: the fast path does not load the init launcher's modules.
  const { run } = await import('../operations/run.ts');
  return run(opts);
}

/** The container's exit status, or undefined when `fallback` and the fast path does not apply. */
async function launchFast(opts: FastRunOptions, fallback: boolean): Promise<number | undefined> {
  // The cgroup moves ahead would each wait out an RCU grace period after a quiet
  // spell: warm the kernel's migration lock while this thread plans (a no-op when
  // the CLI's warm-up is still in flight; one right after it keeps the lock warm).
  void warmCgroupMigration();
  const bundle = loadBundle(opts.bundle);
  const config = bundle.config;
  const namespaces = planNamespaces(config);
  const cgroupPlan = planContainerCgroup(config, opts.id);
  const blocker = await fastRunBlocker(config, opts, namespaces, cgroupPlan);
  if (blocker !== undefined) {
    void discardPrestartedWorker();
    if (fallback) {
      opts.onLauncher?.('init', blocker);
      return undefined;
    }
    throw new CtrError({ stage: 'runtime', op: 'run with the fast launcher', hint: `${blocker}; use run()` });
  }
  opts.onLauncher?.('fast');
  const thread = startLaunchingThread();
  try {
    return await runOnThread(opts, thread, bundle, namespaces, cgroupPlan);
  } finally {
    thread.cancel();
  }
}

async function runOnThread(
  opts: FastRunOptions,
  thread: LaunchingThread,
  bundle: Bundle,
  namespaces: NamespacesPlan,
  cgroupPlan: CgroupPlan,
): Promise<number> {
  const config = bundle.config;
  // Without a pid namespace the program's orphans would leave for the host's init.
  if (!opts.noSubreaper) setChildSubreaper(true);
  const store = new ContainerStore(opts.root);
  const dir = store.allocate(opts.id);
  const lock = await lockContainer(dir, opts.id);
  const record: ContainerRecord = { ...creatingRecord(bundle, opts.id), cgroup: cgroupPlan };
  const devNull: number[] = [];
  let unified: UnifiedMembership | undefined;
  let launched: Launched | undefined;
  try {
    store.write(record);
    const cgroup = openCgroup(cgroupPlan);
    cgroup.create();
    cgroup.applyResources();
    // A warm-up still in flight would move ctr back to where it was.
    await warmupSettled();
    // On libuv's thread pool while this thread plans: should the warm-up not have
    // kept the migration lock warm, the move waits out a grace period (~8-13 ms).
    unified = joinUnified(cgroupPlan);
    // Planned for the cgroups the thread will be in.
    const cgroupPaths = membershipAfterJoin(cgroupPlan, detectCgroups());
    const rootfs = planRootfs(config, {
      bundleDir: bundle.dir,
      noPivot: opts.noPivot ?? false,
      cgroups: readHostCgroups(),
      cgroupPaths,
    });
    const privileges = planPrivileges(config.process!, probePrivilegesHost(), config.linux);
    const stdio = [...(opts.stdio ?? ['inherit', 'inherit', 'inherit'])].map((s) => {
      // libuv would open /dev/null in the child's root, the container's: use the host's.
      if (s !== 'ignore') return s;
      const fd = openSync('/dev/null', fs.O_RDWR | O.CLOEXEC);
      devNull.push(fd);
      return fd;
    });
    for (let i = 0; i < (opts.preserveFds ?? 0); i++) stdio.push(3 + i);
    launched = await thread.launch(
      { config, namespaces, cgroup: cgroupPlan, privileges, rootfs, cgroupPaths, stdio },
      cgroupPlan,
      unified,
      opts.warn,
    );
    record.pid = launched.pid;
    const info = procInfo(launched.pid);
    if (info) record.initStartTime = info.startTime;
    record.status = 'running';
    store.write(record);
    if (opts.pidFile) writePidFile(resolve(opts.pidFile), launched.pid);
  } catch (e) {
    try {
      // Destroying kills what is in the container's cgroups: ctr and its thread must be out.
      await (launched?.left ?? unified?.leave());
      await destroy(store, record);
    } finally {
      lock.release();
    }
    throw e;
  } finally {
    for (const fd of devNull) closeSync(fd);
  }
  lock.release();
  for (const hook of config.hooks?.poststart ?? []) {
    try {
      await runHooks('poststart', [hook], ociState(record, 'running'));
    } catch (e) {
      opts.warn?.((e as Error).message);
    }
  }
  const stopForwarding = forwardSignals(launched.pid, record.initStartTime ?? '');
  let exit: ChildExit;
  try {
    exit = await launched.exited;
  } finally {
    stopForwarding();
    await launched.left;
  }
  if (!opts.keep) await deleteContainer({ id: opts.id, root: opts.root, force: true, warn: opts.warn });
  return exitStatus(exit);
}

interface Launched {
  pid: number;
  exited: Promise<ChildExit>;
  /**
   * Settles once ctr's launching thread and ctr itself are back in their own cgroups
   * (or the thread is gone); never rejects. Awaited before anything that kills what
   * is in the container's cgroups.
   */
  left: Promise<void>;
}

interface LaunchingThread {
  /** Hands the thread its work once ctr is in `unified`; resolves once the program runs. */
  launch(
    request: LaunchRequest,
    cgroup: CgroupPlan,
    unified: UnifiedMembership,
    warn?: (msg: string) => void,
  ): Promise<Launched>;
  /** Ends a thread that was never given work (a no-op once it was). */
  cancel(): void;
}

/**
 * Takes the launching Worker (prestarted by the CLI, or started now), so its Node start
 * and module loading overlap with this thread's planning, locking and cgroup setup; it
 * waits for its request. On a hybrid host the unified hierarchy takes whole processes only: ctr
 * joins the container's unified cgroup before the thread spawns, so the child is born
 * in it, and leaves once the program runs (that cgroup carries no limits,
 * fastRunBlocker checks).
 */
function startLaunchingThread(): LaunchingThread {
  const worker = takeLaunchingWorker();
  let given = false;
  let spawned = false;
  let failure: Error | undefined;
  let onSpawned: (m: { pid: number; tid: number }) => void = () => {};
  let onSpawnFailed: (e: Error) => void = () => {};
  const born = new Promise<{ pid: number; tid: number }>((res, rej) => {
    onSpawned = res;
    onSpawnFailed = rej;
  });
  let onExit: (e: ChildExit) => void = () => {};
  let onFail: (e: Error) => void = () => {};
  const exited = new Promise<ChildExit>((res, rej) => {
    onExit = res;
    onFail = rej;
  });
  // Nobody may be left with an unhandled rejection when the run failed earlier.
  born.catch(() => {});
  exited.catch(() => {});
  worker.on('message', (m: LaunchMessage) => {
    if (m.type === 'loaded') return;
    if (m.type === 'spawned') {
      spawned = true;
      onSpawned(m);
    } else if (m.type === 'exit') onExit({ code: m.code, signal: m.signal });
    // Reported once the thread is gone: until then it is in the container's cgroups,
    // and tearing those down would kill ctr with them.
    else failure = fromWire(m.error);
  });
  worker.on('error', (e) => {
    failure = e;
  });
  worker.on('exit', (code) => {
    const e =
      failure ??
      new CtrError({
        stage: 'runtime',
        op: 'run: the launching thread ended before the program did',
        hint: `thread exit code ${code}`,
      });
    if (spawned) onFail(e);
    else onSpawnFailed(e);
  });
  const ended = new Promise<void>((res) => worker.once('exit', () => res()));
  return {
    async launch(request, cgroup, unified, warn) {
      given = true;
      // The thread makes ctr non-dumpable while its child is still a copy of Node.
      const wasDumpable = getDumpable();
      let left: Promise<void> | undefined;
      try {
        await unified.joined;
        worker.postMessage(request);
        const { pid, tid } = await born;
        // Off this thread and not awaited here: the moves run while the program does,
        // all at once (each is a thread-pool round trip). Should moving the thread
        // fail, its end takes it out.
        left = Promise.allSettled([leaveV1(cgroup, tid), unified.leave()]).then(async (moves) => {
          const failed = moves.find((m) => m.status === 'rejected');
          if (failed === undefined) return;
          warn?.(`run: moving ctr out of the container's cgroups: ${(failed.reason as Error).message}`);
          await ended;
        });
        return { pid, exited, left };
      } finally {
        if (left === undefined) await unified.leave();
        if (wasDumpable) setDumpable(true);
      }
    },
    cancel() {
      if (!given) void endLaunchingWorker(worker);
    },
  };
}

/**
 * Moves the launching thread back into ctr's own v1 cgroups once its child is born:
 * a thread of ctr left in the container's cgroup would make ctr one of the
 * container's processes (killed with it by delete, listed by ps, frozen by pause).
 */
async function leaveV1(cgroup: CgroupPlan, tid: number): Promise<void> {
  if (cgroup.driver !== 'v1') return;
  // The main thread never joins the container's v1 cgroups: its cgroups are ctr's own.
  const own = currentCgroups('/proc/thread-self/cgroup');
  const done = new Set<string>();
  const moves: Promise<void>[] = [];
  for (const { controller, path } of cgroup.dirs) {
    if (controller === 'unified' || done.has(path)) continue;
    done.add(path);
    const home = ownCgroupDir(own, controller);
    if (home === undefined) {
      throw new CtrError({
        stage: 'runtime',
        op: `find ctr's own ${controller} cgroup`,
        hint: "ctr's cgroup is outside what the hierarchy's mount shows",
      });
    }
    moves.push(
      writeFile(join(home, 'tasks'), String(tid)).catch((e: NodeJS.ErrnoException) => {
        // A short program can be done, and the thread gone with it, before this runs.
        if (e.code !== 'ESRCH') throw e;
      }),
    );
  }
  // Every write has finished before a failure is reported: the caller then waits for
  // the thread to end, and no write of its tid may still be in flight after that.
  const failed = (await Promise.allSettled(moves)).find((m) => m.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * ctr's move into the container's unified cgroup on a hybrid host (the child is born
 * where ctr is) and back out. `joined` rejects if the move failed; `leave` may be
 * called any number of times, waits for the move, and never leaves ctr behind.
 */
interface UnifiedMembership {
  joined: Promise<void>;
  leave: () => Promise<void>;
}

function joinUnified(cgroup: CgroupPlan): UnifiedMembership {
  const dir = cgroup.dirs.find((d) => d.controller === 'unified')?.path;
  if (dir === undefined) return { joined: Promise.resolve(), leave: async () => {} };
  const home = ownCgroupDir(currentCgroups(), '');
  if (home === undefined) {
    throw new CtrError({
      stage: 'runtime',
      op: 'find ctr in the unified cgroup hierarchy',
      hint: 'ctr runs outside the unified hierarchy its mount shows; use run() (the init launcher)',
    });
  }
  const joined = writeFile(join(dir, 'cgroup.procs'), String(process.pid));
  // Whoever waits on the move reports its failure; leaving runs after it either way.
  const settled = joined.catch(() => {});
  let leaving: Promise<void> | undefined;
  const leave = () =>
    (leaving ??= settled.then(() => writeFile(join(home, 'cgroup.procs'), String(process.pid))));
  return { joined, leave };
}
