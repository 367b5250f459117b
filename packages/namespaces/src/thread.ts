import { Worker } from 'node:worker_threads';
import { CtrError, type CtrErrorInit } from '@ctr/sys';
import type { NamespacesPlan } from './plan.ts';

/** The stdio of a child spawned from a sacrificial thread: fds of this process, or inherit/ignore. */
export type ChildStdio = number | 'inherit' | 'ignore';

export interface SacrificialSpawn {
  plan: NamespacesPlan;
  file: string;
  args: readonly string[];
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  /** Start the child in a new session (setsid), as a container init that outlives us does. */
  detached?: boolean | undefined;
  /**
   * fd 0, 1, 2, … of the child; default inherit for 0..2. After a prepare module changed
   * the root, pass fds rather than 'ignore': libuv opens /dev/null in the child's root for it.
   */
  stdio?: readonly ChildStdio[] | undefined;
  /**
   * A module whose default export `(data) => void | Promise<void>` runs on the thread
   * after the namespaces are applied and before the spawn (the fast path's other stages).
   */
  prepare?: { module: string | URL; data?: unknown } | undefined;
  /**
   * With a new user namespace: the child fd on which one byte arrives once its uid/gid
   * maps are written (default: the fd after the last stdio entry, at least 3). The
   * child must read it before relying on its ids (waitForIdMaps). 'none' when the
   * caller tells the child itself: the maps are written before the spawn resolves.
   */
  syncFd?: number | 'none' | undefined;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SacrificialChild {
  pid: number;
  /** Resolves when the child exits; the sacrificial thread ends with it. */
  exited: Promise<ChildExit>;
  /** Lets this process exit while the child lives on (the thread is then ended with the process). */
  release(): void;
}

/** Messages from worker.ts. */
export type WorkerMessage =
  | { type: 'result'; value: unknown }
  | { type: 'spawned'; pid: number }
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'error'; error: SerializedError };

export type SerializedError = { message: string; ctr?: CtrErrorInit | undefined };

export type WorkerRequest =
  | { type: 'run'; module: string; data: unknown }
  | {
      type: 'spawn';
      plan: NamespacesPlan;
      file: string;
      args: string[];
      env: Record<string, string> | undefined;
      cwd: string | undefined;
      detached: boolean;
      stdio: ChildStdio[];
      prepare: { module: string; data: unknown } | undefined;
      syncFd: number | 'none' | undefined;
    };

// From src (Node strips the types) the worker is worker.ts and must resolve sibling
// packages to their sources; from dist it is worker.js.
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);

function startWorker(request: WorkerRequest): Worker {
  return new Worker(workerUrl, {
    workerData: request,
    ...(fromSource ? { execArgv: ['--conditions=source'] } : {}),
    // A spawn's thread writes nothing to stdout or stderr (it reports over messages):
    // not piping them spares Node setting up those streams on both sides, ~2 ms of
    // the thread's start. A caller's own module keeps its output.
    ...(request.type === 'spawn' ? { stdout: true, stderr: true } : {}),
  });
}

export function reviveError(e: SerializedError): Error {
  return e.ctr ? new CtrError(e.ctr) : new Error(e.message);
}

const href = (m: string | URL) => (m instanceof URL ? m.href : m);

/**
 * Runs the default export of `module` (a file URL or path Node can import) with `data`
 * on a fresh worker thread that is thrown away afterwards, so whatever it does to its
 * thread (namespaces, root, credentials) never reaches the caller's threads.
 */
export function runOnSacrificialThread<T>(module: string | URL, data?: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = startWorker({ type: 'run', module: href(module), data });
    let settled = false;
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'result') resolve(m.value as T);
      else if (m.type === 'error') reject(reviveError(m.error));
      settled = true;
    });
    w.on('error', (e) => {
      settled = true;
      reject(e);
    });
    w.on('exit', (code) => {
      if (!settled)
        reject(
          new CtrError({
            stage: 'namespaces',
            op: 'run on sacrificial thread',
            hint: `the thread exited (${code}) without a result`,
          }),
        );
    });
  });
}

/**
 * Applies a namespaces plan on a fresh worker thread, runs an optional prepare module
 * there, and spawns a child from that thread (libuv forks from the calling thread, so
 * the child inherits its namespaces). With a user namespace the child is launched
 * through unshare(1) and the thread writes its uid/gid maps before resolving. The
 * thread lives until the child exits (it reaps it) and is then discarded.
 */
export function spawnFromSacrificialThread(req: SacrificialSpawn): Promise<SacrificialChild> {
  return new Promise<SacrificialChild>((resolve, reject) => {
    const w = startWorker({
      type: 'spawn',
      plan: req.plan,
      file: req.file,
      args: [...req.args],
      env: req.env,
      cwd: req.cwd,
      detached: req.detached === true,
      stdio: [...(req.stdio ?? ['inherit', 'inherit', 'inherit'])],
      prepare: req.prepare ? { module: href(req.prepare.module), data: req.prepare.data } : undefined,
      syncFd: req.syncFd,
    });
    let spawned = false;
    let onExit: (e: ChildExit) => void = () => {};
    let onFail: (e: Error) => void = () => {};
    const exited = new Promise<ChildExit>((res, rej) => {
      onExit = res;
      onFail = rej;
    });
    // Nobody may be left with an unhandled rejection when spawning itself failed.
    exited.catch(() => {});
    let done = false;
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'spawned') {
        spawned = true;
        resolve({ pid: m.pid, exited, release: () => w.unref() });
      } else if (m.type === 'exit') {
        done = true;
        onExit({ code: m.code, signal: m.signal });
      } else if (m.type === 'error') {
        done = true;
        const e = reviveError(m.error);
        if (spawned) onFail(e);
        else reject(e);
      }
    });
    w.on('error', (e) => {
      done = true;
      if (spawned) onFail(e);
      else reject(e);
    });
    w.on('exit', (code) => {
      if (done) return;
      const e = new CtrError({
        stage: 'namespaces',
        op: 'spawn from sacrificial thread',
        hint: `the thread exited (${code}) early`,
      });
      if (spawned) onFail(e);
      else reject(e);
    });
  });
}
