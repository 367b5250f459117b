// The launching thread of the fast path: a throw-away Worker that becomes the
// container (cgroups, namespaces, root, privileges, seccomp) and spawns the user
// program from itself, so the program is the container's pid 1 without a second
// Node start. Everything here acts on this thread only, except where noted.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { applyPrivileges, type PrivilegesPlan } from '@ctr/capabilities';
import { type CgroupPlan, parseProcCgroup } from '@ctr/cgroups';
import { applyNamespaceOps } from '@ctr/namespaces';
import { applyRootfs, type RootfsPlan } from '@ctr/rootfs';
import {
  AT,
  CLOSE_RANGE,
  CtrError,
  close,
  closeRange,
  fchdir,
  gettid,
  O,
  openat2,
  PIDFD,
  pidfdOpen,
  pidfdPidNamespace,
  RESOLVE,
  setDumpable,
} from '@ctr/sys';
import { envRecord } from '../env.ts';
import { checkExecutable, resolveExecutable } from '../init/executable.ts';
import { toWire } from '../wire-error.ts';
import type { LaunchMessage, LaunchRequest } from './protocol.ts';

const post = (m: LaunchMessage) => parentPort!.postMessage(m);

/**
 * A procfs mounts the pid namespace of the task that mounts it, and this thread is not
 * in the container's (only its children will be): tell every proc mount which one to
 * show (the `pidns` mount option, Linux 6.15) through an fd on the namespace, taken
 * from a thread pidfd because /proc/<tid>/ns/pid_for_children cannot be opened before
 * the namespace has a process.
 */
function procMountsForChildren(plan: RootfsPlan): () => void {
  const pidfd = pidfdOpen(gettid(), PIDFD.THREAD);
  let nsfd: number;
  try {
    nsfd = pidfdPidNamespace(pidfd, 'pid_for_children');
  } finally {
    close(pidfd);
  }
  for (const op of plan.ops) {
    if (op.op === 'mount' && op.kind === 'fs' && op.fstype === 'proc') {
      op.options.data.push(`pidns=/proc/thread-self/fd/${nsfd}`);
    }
  }
  return () => close(nsfd);
}

/**
 * Joins this thread to the container's v1 cgroups (`tasks` takes one thread; the
 * runtime created them). The cgroup code itself stays out of this thread's modules.
 */
function joinV1(plan: CgroupPlan): void {
  if (plan.driver !== 'v1') return;
  const tid = String(gettid());
  for (const dir of new Set(plan.dirs.filter((d) => d.controller !== 'unified').map((d) => d.path))) {
    try {
      writeFileSync(join(dir, 'tasks'), tid);
    } catch (cause) {
      throw new CtrError({
        stage: 'cgroups',
        op: 'join the container cgroup',
        path: join(dir, 'tasks'),
        hint: 'the launching thread could not join the cgroup the runtime created',
        cause,
      });
    }
  }
}

/**
 * The rootfs plan's cgroup mounts name the cgroups the runtime expected this thread
 * to be in: refuse to mount anything else into the container.
 */
function checkCgroupPaths(expected: Record<string, string>): void {
  const actual = parseProcCgroup(readFileSync('/proc/thread-self/cgroup', 'utf8'));
  for (const [controller, path] of Object.entries(actual)) {
    if (expected[controller] !== path) {
      throw new CtrError({
        stage: 'runtime',
        op: 'check the cgroups of the launching thread',
        path: '/proc/thread-self/cgroup',
        hint: `${controller || 'unified'}: the thread is in ${path}, the root filesystem was planned for ${expected[controller] ?? 'none'}; use run() (the init launcher)`,
      });
    }
  }
}

/** Changes to process.cwd without following magic links (CVE-2024-21626: /proc/self/fd/N is a way out). */
function enterCwd(cwd: string): void {
  let fd: number;
  try {
    fd = openat2(AT.FDCWD, cwd, { flags: O.PATH | O.DIRECTORY, resolve: RESOLVE.NO_MAGICLINKS });
  } catch (cause) {
    throw new CtrError({
      stage: 'runtime',
      op: `chdir to process.cwd ${cwd}`,
      hint: 'the working directory must exist inside the container and be reachable by process.user',
      cause,
    });
  }
  try {
    fchdir(fd);
  } finally {
    close(fd);
  }
}

/** Splits the privileges into what must happen while the host's /proc is there and the rest. */
function splitPrivileges(plan: PrivilegesPlan): [early: PrivilegesPlan, late: PrivilegesPlan] {
  // /proc/self/oom_score_adj: after pivot_root /proc is the container's, where this
  // process (outside its pid namespace) has no /proc/self. The score is per process,
  // so it is set on ctr and the program inherits it.
  const early = plan.ops.filter((o) => o.op === 'oomScoreAdj');
  return [
    { ops: early, warnings: [] },
    { ops: plan.ops.filter((o) => o.op !== 'oomScoreAdj'), warnings: plan.warnings },
  ];
}

async function launch(req: LaunchRequest): Promise<void> {
  const config = req.config;
  const proc = config.process!;
  // Loaded only when needed (a third of this thread's modules), and before pivot_root
  // takes the host's files away.
  const seccompStage = config.linux?.seccomp ? await import('@ctr/seccomp') : undefined;
  // 1. Cgroups first, before anything of the config's: v1 `tasks` takes this thread
  //    alone, and the child is born where its parent thread is (the unified hierarchy
  //    of a hybrid host took the whole process before this thread started).
  joinV1(req.cgroup);
  checkCgroupPaths(req.cgroupPaths);
  const rootfs = req.rootfs;
  const [early, late] = splitPrivileges(req.privileges);
  applyPrivileges(early);

  // Node writes a thread's compile cache when the thread ends, by path: after
  // pivot_root that path is inside the container's root. Written now, on the host.
  flushCompileCache();
  // 2. Namespaces: unshare on this thread (mnt with CLONE_FS), uts names.
  applyNamespaceOps(req.namespaces.thread);
  const newPidNamespace = (config.linux?.namespaces ?? []).some((n) => n.type === 'pid');
  const closeNs = newPidNamespace ? procMountsForChildren(rootfs) : () => {};

  // 3. Root filesystem; pivot_root moves only this thread's root (its own mount namespace).
  try {
    applyRootfs(rootfs);
  } finally {
    closeNs();
  }

  // 4. Seccomp before the privileges when it needs CAP_SYS_ADMIN to load, as in the init.
  const seccomp =
    seccompStage && config.linux?.seccomp ? seccompStage.compileSeccomp(config.linux.seccomp) : undefined;
  if (seccomp && !proc.noNewPrivileges) seccompStage!.installSeccomp(seccomp);
  // 5. rlimits, bounding set, groups and ids, capabilities, no_new_privs (per thread;
  //    rlimits are per process, so ctr shares the container's).
  applyPrivileges(late);
  enterCwd(proc.cwd);
  const args = proc.args ?? [];
  if (args.length === 0) {
    throw new CtrError({ stage: 'spec', op: 'process.args', hint: 'process.args: must name a program' });
  }
  const path = resolveExecutable(args[0]!, proc.env ?? []);
  checkExecutable(args[0]!, path);
  const env = envRecord(proc.env);

  // CVE-2024-21626: every fd of this process is shared with the forked child; only
  // stdio and the preserved fds (which spawn dups into place) may survive its execve.
  closeRange(3, 0xffffffff, CLOSE_RANGE.CLOEXEC);
  // CVE-2019-5736: between fork and execve the child is a copy of Node, and its
  // /proc/<pid>/exe the Node binary; non-dumpable, nothing in the container may open it.
  setDumpable(false);
  // 6. Last: the filter under no_new_privs, so it sees only the fork and the execve.
  if (seccomp && proc.noNewPrivileges) seccompStage!.installSeccomp(seccomp);
  const child = spawn(path, args.slice(1), {
    argv0: args[0],
    env,
    stdio: req.stdio,
    // Its own session, as the init launcher's: the terminal's signals reach ctr,
    // which forwards them once.
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new CtrError({
          stage: 'runtime',
          op: `exec ${JSON.stringify(args[0])}`,
          errno: typeof e.errno === 'number' ? Math.abs(e.errno) : undefined,
          hint: e.message,
        }),
      ),
    );
  });
  const exited = new Promise<LaunchMessage>((resolve) =>
    child.once('exit', (code, signal) => resolve({ type: 'exit', code, signal })),
  );
  post({ type: 'spawned', pid: child.pid!, tid: gettid() });
  post(await exited);
}

// Started ahead of its work (its imports above are most of its cost): the request
// comes once the runtime has made the container's cgroup.
parentPort!.once('message', (request: LaunchRequest) =>
  launch(request).then(
    () => process.exit(0),
    (e) => {
      post({ type: 'error', error: toWire(e) });
      process.exit(1);
    },
  ),
);
// Ending a Worker while it registers a native addon aborts the whole process (koffi's
// registration meets the terminating isolate): the main thread ends an unused thread
// only once this says its modules are in.
post({ type: 'loaded' });
