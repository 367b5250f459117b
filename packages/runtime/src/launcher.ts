import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  applyNamespaces,
  type ChildExit,
  launchCommand,
  type NamespacesPlan,
  restoreThreadNamespaces,
  saveThreadNamespaces,
  spawnFromSacrificialThread,
  waitForLaunchedProcess,
} from '@ctr/namespaces';
import { CtrError, close, pidfdExitStatus, pidfdOpen, socketpair } from '@ctr/sys';
import { compileCacheEnv } from './compile-cache.ts';
import type { FromInit, ToInit } from './init/protocol.ts';
import { openReadOnlyNodeBinary } from './node-binary.ts';
import { signalName } from './signals.ts';
import { refuseUserNamespaceJoin, writeUserNamespaceMaps } from './userns.ts';

const fromSources = import.meta.url.endsWith('.ts');
/** The scripts the launcher starts: a new container's init, or a process joining one. */
const ENTRIES = { init: 'main', exec: 'exec-main' } as const;
const entryPath = (entry: keyof typeof ENTRIES) =>
  fileURLToPath(new URL(`./init/${ENTRIES[entry]}.${fromSources ? 'ts' : 'js'}`, import.meta.url));

/**
 * The environment of the init and the exec helper: nothing of the caller's (NODE_OPTIONS
 * above all must not reach the process that becomes the container), only ctr's own
 * compile cache directory. Each writes its cache before it leaves the host's mount
 * namespace (flushCompileCache in init/main.ts and init/exec-main.ts); it never exits,
 * which is when Node would write it. The program gets the config's env from execve.
 */
function initEnv(): Record<string, string> {
  return { ...compileCacheEnv() };
}

/** The runtime's end of the sync pipe to an init: newline-delimited JSON both ways. */
export class InitChannel {
  private readonly socket: Socket;
  private buffered = '';
  private readonly queue: FromInit[] = [];
  private waiter: ((m: FromInit | undefined) => void) | undefined;
  private closed = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop() ?? '';
      for (const line of lines) if (line) this.push(JSON.parse(line) as FromInit);
    });
    const end = () => {
      this.closed = true;
      this.waiter?.(undefined);
      this.waiter = undefined;
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  private push(m: FromInit): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else this.queue.push(m);
  }

  /** The next message, or undefined once the init has closed its end (it exited). */
  next(): Promise<FromInit | undefined> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  send(message: ToInit): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Spawns from the calling thread after moving it into the container's namespaces,
 * then moves it back. Going back matters: the init pivot_roots inside the mount
 * namespace it shares with this thread, and pivot_root moves the root of every
 * thread of that namespace still at the old root, ours included.
 */
function spawnInOwnNamespaces(
  plan: NamespacesPlan,
  file: string,
  args: string[],
  stdio: StdioFd[],
): ChildProcess {
  const cwd = process.cwd();
  // Only what the thread itself changes: with a user namespace unshare(1) makes the
  // rest, and setns back into an unchanged mount namespace fails (CLONE_FS is shared).
  const types = plan.thread.flatMap((op) =>
    op.op === 'join' ? [op.type] : op.op === 'unshare' ? op.types : [],
  );
  const saved = saveThreadNamespaces(types);
  try {
    applyNamespaces(plan);
    return spawn(file, args, { stdio, detached: true, env: initEnv(), cwd: '/' });
  } finally {
    restoreThreadNamespaces(saved);
    process.chdir(cwd);
  }
}

/** One stdio slot of the container: inherited from the runtime, /dev/null, or an fd. */
export type StdioFd = 'inherit' | 'ignore' | number;

/**
 * Where the namespaces are made. A one-shot CLI sacrifices its own calling thread
 * (no Worker to start; the process exits right after); a long-lived process (the
 * library API, tests) uses a throw-away Worker so its threads are never changed.
 */
export type LaunchOn = 'calling-thread' | 'worker';

export interface LaunchOptions {
  /** `init` starts a container; `exec` joins a running one (its plan only joins namespaces). */
  entry?: keyof typeof ENTRIES;
  stdio: readonly [StdioFd, StdioFd, StdioFd];
  /** Fds 3 .. 3+preserveFds-1 of the caller pass into the container (--preserve-fds). */
  preserveFds: number;
  namespaces: NamespacesPlan;
  launchOn: LaunchOn;
  /** More fds of the caller handed to the child right after the sync fd, in order. */
  extraFds?: readonly number[];
}

export interface LaunchedInit {
  pid: number;
  exited: Promise<ChildExit>;
  channel: InitChannel;
  /** Lets this process exit while the init lives on (a one-shot `create`). */
  release(): void;
}

/**
 * Starts the init (`node init/main`) inside the container's new namespaces, with the
 * sync pipe after stdio and the preserved fds. Node runs with ctr's compile cache
 * directory as its only environment (initEnv) so nothing of the caller's (NODE_OPTIONS
 * above all) reaches the process that becomes the container, and from a read-only
 * clone of its binary (openReadOnlyNodeBinary),
 * handed over as the last fd and exec'd through /proc/self/fd.
 *
 * With a user namespace the command goes through unshare(1) (see @ctr/namespaces):
 * the uid/gid maps are written before this resolves, and `pid` is the init, which
 * unshare forked as PID 1 of the new pid namespace; `exited` is unshare's exit, which
 * mirrors the init's (--kill-child ties them the other way).
 */
export async function launchInit(opts: LaunchOptions): Promise<LaunchedInit> {
  refuseUserNamespaceJoin(opts.namespaces);
  const node = openReadOnlyNodeBinary();
  let ours: number;
  let theirs: number;
  try {
    [ours, theirs] = socketpair();
  } catch (e) {
    closeSync(node);
    throw e;
  }
  const stdio: StdioFd[] = [...opts.stdio];
  for (let i = 0; i < opts.preserveFds; i++) stdio.push(3 + i);
  const syncFd = stdio.length;
  stdio.push(theirs, ...(opts.extraFds ?? []));
  // Placed by number in the child, so the path also holds after unshare(1)'s exec.
  const nodeFd = stdio.length;
  stdio.push(node);
  const nodeArgs = [
    ...(fromSources ? ['--conditions=source'] : []),
    entryPath(opts.entry ?? 'init'),
    String(syncFd),
  ];
  let spawned: SpawnedLauncher;
  try {
    spawned = await spawnLauncher(opts, `/proc/self/fd/${nodeFd}`, nodeArgs, stdio);
  } catch (e) {
    closeSync(ours);
    throw e;
  } finally {
    closeSync(theirs);
    closeSync(node);
  }
  let pid: number;
  try {
    // The worker writes the maps itself before it reports the spawn.
    if (opts.launchOn === 'calling-thread') await writeUserNamespaceMaps(opts.namespaces, spawned.pid);
    pid = await waitForLaunchedProcess(opts.namespaces, spawned.pid);
  } catch (e) {
    // unshare --kill-child takes the init with it.
    spawned.kill();
    closeSync(ours);
    throw e;
  }
  const socket = new Socket({ fd: ours, readable: true, writable: true });
  const exited = pid === spawned.pid ? spawned.exited : initExit(pid, spawned.exited);
  return { pid, exited, channel: new InitChannel(socket), release: spawned.release };
}

/**
 * How the init behind unshare(1) ended. unshare mirrors its child's exit, but
 * util-linux before 2.39 cannot mirror SIGKILL: it prints "sigprocmask unblock
 * failed" and exits 1, so a killed container would report status 1, not 137. A pidfd
 * of the init, opened while it waits for its bootstrap, tells how it really ended
 * (PIDFD_INFO_EXIT, Linux 6.15); without it, unshare's exit is the answer.
 */
function initExit(pid: number, launcherExited: Promise<ChildExit>): Promise<ChildExit> {
  let pidfd: number | undefined;
  try {
    pidfd = pidfdOpen(pid);
  } catch {
    return launcherExited;
  }
  return launcherExited.then((launcher) => {
    const status = pidfdExitStatus(pidfd);
    close(pidfd);
    if (status === undefined) return launcher;
    const signal = status & 0x7f;
    return signal === 0
      ? { code: (status >> 8) & 0xff, signal: null }
      : { code: null, signal: signalName(signal) as NodeJS.Signals };
  });
}

/** The process the launcher spawned: the init itself, or unshare(1) in front of it. */
interface SpawnedLauncher {
  pid: number;
  exited: Promise<ChildExit>;
  release(): void;
  kill(): void;
}

/** Spawns `node nodeArgs` behind the plan's launcher prefix (the worker adds it itself). */
async function spawnLauncher(
  opts: LaunchOptions,
  node: string,
  nodeArgs: string[],
  stdio: StdioFd[],
): Promise<SpawnedLauncher> {
  if (opts.launchOn === 'calling-thread') {
    const [file, args] = launchCommand(opts.namespaces, node, nodeArgs);
    const child = spawnInOwnNamespaces(opts.namespaces, file, args, stdio);
    if (child.pid === undefined) {
      throw new CtrError({
        stage: 'runtime',
        op: 'spawn the container init',
        hint: `could not run ${file}`,
      });
    }
    return {
      pid: child.pid,
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
      release: () => child.unref(),
      kill: () => child.kill('SIGKILL'),
    };
  }
  const child = await spawnFromSacrificialThread({
    plan: opts.namespaces,
    file: node,
    args: nodeArgs,
    env: initEnv(),
    cwd: '/',
    stdio,
    // The bootstrap message is the init's signal that its maps are written.
    syncFd: 'none',
  });
  return {
    ...child,
    kill: () => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone: the thread reaps it.
      }
    },
  };
}
