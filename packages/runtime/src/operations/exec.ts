import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCgroup } from '@ctr/cgroups';
import { CLONE_FLAGS, type NamespacesPlan, type NamespaceType, NS_FILE } from '@ctr/namespaces';
import type { Process } from '@ctr/spec';
import { CtrError, close, openNamespace } from '@ctr/sys';
import { exitStatus, forwardSignals } from '../foreground.ts';
import { type LaunchOn, launchInit, type StdioFd } from '../launcher.ts';
import { lockContainer } from '../lock.ts';
import { writePidFile } from '../pid-file.ts';
import { isSameProcessAlive, procInfo } from '../proc.ts';
import { currentStatus } from '../status.ts';
import { ContainerStore } from '../store.ts';
import { type ConsoleReceiver, openConsoleReceiver } from '../terminal/console-receiver.ts';
import { relayTerminal, type TerminalRelay } from '../terminal/relay.ts';
import { fromWire } from '../wire-error.ts';

export interface ExecOptions {
  root?: string;
  id: string;
  /**
   * The process to run (loadProcessFile reads one), or a function building it from the
   * container's own process (execProcessFrom applies runc exec's flags).
   */
  process: Process | ((containerProcess: Process) => Process);
  /** Return once the process runs instead of waiting for it (runc exec --detach). */
  detach?: boolean;
  /** Written with the process's host pid once it runs. */
  pidFile?: string;
  preserveFds?: number;
  consoleSocket?: string;
  stdio?: readonly [StdioFd, StdioFd, StdioFd];
  /** Where the namespaces are joined: a Worker by default, the calling thread in the CLI. */
  launchOn?: LaunchOn;
  /**
   * With a terminal and no console socket this process relays the terminal: whether
   * its stdin goes in too (default true).
   */
  terminalStdin?: boolean;
}

/** How long an exited process's terminal may take to hand over its last output. */
const TERMINAL_DRAIN_MS = 200;

export interface ExecResult {
  pid: number;
  /** The exit status (128+signal when killed); undefined with `detach`. */
  status: number | undefined;
}

/**
 * OCI-runtime `exec` (runc exec): runs a new process inside a created or running
 * container. A helper is spawned from a thread that has joined the container's
 * namespaces (the mount namespace the helper joins itself), placed in the container's
 * cgroup before it is told anything, then drops to the process's privileges under the
 * container's seccomp profile and execs the program, as the init does.
 */
export async function exec(opts: ExecOptions): Promise<ExecResult> {
  const store = new ContainerStore(opts.root);
  const lock = await lockContainer(store.dir(opts.id), opts.id);
  const nsFds: number[] = [];
  let launched: Awaited<ReturnType<typeof launchInit>> | undefined;
  let receiver: ConsoleReceiver | undefined;
  let terminal: TerminalRelay | undefined;
  try {
    const record = store.read(opts.id);
    const status = currentStatus(store, record);
    if (status === 'stopped')
      throw new CtrError({ stage: 'runtime', op: 'cannot exec in a stopped container' });
    if (status === 'paused') {
      throw new CtrError({
        stage: 'runtime',
        op: 'cannot exec in a paused container',
        hint: 'resume it first',
      });
    }
    if (status === 'creating' || record.pid === undefined || record.initStartTime === undefined) {
      throw new CtrError({ stage: 'runtime', op: `cannot exec in a container in the ${status} state` });
    }
    const proc = typeof opts.process === 'function' ? opts.process(record.config.process!) : opts.process;
    if (proc.terminal && !opts.consoleSocket) {
      if (opts.detach) {
        // Nobody would hold the master once ctr exits (runc refuses the same).
        throw new CtrError({
          stage: 'runtime',
          op: 'exec --detach with a terminal',
          hint: 'pass --console-socket to hand the terminal to, or run without --tty',
        });
      }
      receiver = openConsoleReceiver();
    }
    if (opts.consoleSocket && !proc.terminal) {
      throw new CtrError({
        stage: 'runtime',
        op: 'exec with --console-socket',
        hint: 'use --console-socket only with a terminal (--tty, or process.terminal in --process)',
      });
    }
    const types = (record.config.linux?.namespaces ?? []).map((n) => n.type as NamespaceType);
    if (types.includes('time')) {
      throw new CtrError({
        stage: 'runtime',
        op: 'exec into a container with a time namespace',
        hint: 'a multithreaded process cannot join it; not supported by ctr yet',
      });
    }
    // The init's namespaces, opened now and then checked to still belong to the init:
    // a pid recycled in between would otherwise hand us a stranger's.
    const join: NamespacesPlan['join'] = [];
    let mountFd: number | undefined;
    let userFd: number | undefined;
    for (const type of types) {
      const fd = openNamespace(`/proc/${record.pid}/ns/${NS_FILE[type]}`, CLONE_FLAGS[type]);
      nsFds.push(fd);
      if (type === 'mount') mountFd = fd;
      else if (type === 'user') userFd = fd;
      else join.push({ type, path: `/proc/self/fd/${fd}` });
    }
    // The helper finds them after its sync fd: the mount namespace first (join.ts).
    const extraFds = [...(mountFd !== undefined ? [mountFd] : []), ...(userFd !== undefined ? [userFd] : [])];
    const syncFd = 3 + (opts.preserveFds ?? 0);
    if (!isSameProcessAlive(record.pid, record.initStartTime)) {
      throw new CtrError({ stage: 'runtime', op: 'cannot exec in a stopped container' });
    }
    const namespaces: NamespacesPlan = {
      create: [],
      join,
      thread: join.map((j) => ({
        op: 'join' as const,
        type: j.type as Exclude<NamespaceType, 'user'>,
        path: j.path,
      })),
      user: undefined,
      // No Node thread can enter a user namespace: util-linux nsenter does, as the
      // first step of the helper's command. Without --preserve-credentials it becomes
      // the namespace's root, so the Node it execs keeps its capabilities there (and
      // with them the right to join the mount namespace the user namespace owns).
      launcher:
        userFd !== undefined ? ['nsenter', `--user=/proc/self/fd/${syncFd + extraFds.length}`, '--'] : [],
      init: [],
    };
    launched = await launchInit({
      entry: 'exec',
      stdio: opts.stdio ?? ['inherit', 'inherit', 'inherit'],
      preserveFds: opts.preserveFds ?? 0,
      namespaces,
      launchOn: opts.launchOn ?? 'worker',
      extraFds,
    });
    if (record.cgroup) openCgroup(record.cgroup).addProcess(launched.pid);
    launched.channel.send({
      type: 'exec',
      process: proc,
      seccomp: record.config.linux?.seccomp,
      personality: record.config.linux?.personality,
      joinMount: mountFd !== undefined,
      preserveFds: opts.preserveFds ?? 0,
      consoleSocket:
        receiver?.path ?? (opts.consoleSocket !== undefined ? resolve(opts.consoleSocket) : undefined),
    });
    const message = await launched.channel.next();
    if (message?.type === 'error') throw fromWire(message.error);
    if (message?.type !== 'ready') {
      const exit = exitStatus(await launched.exited);
      throw new CtrError({
        stage: 'runtime',
        op: 'exec: the process exited before it was ready',
        hint: `exit status ${exit}`,
      });
    }
    if (opts.pidFile) writePidFile(resolve(opts.pidFile), launched.pid);
    if (receiver) terminal = relayTerminal(receiver.receive(), { input: opts.terminalStdin ?? true });
  } catch (e) {
    if (launched) {
      launched.channel.close();
      try {
        process.kill(launched.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    throw e;
  } finally {
    receiver?.close();
    for (const fd of nsFds) close(fd);
    lock.release();
  }
  const { pid, exited, channel } = launched;
  channel.close();
  if (opts.detach) {
    launched.release();
    return { pid, status: undefined };
  }
  const startTime = procInfo(pid)?.startTime;
  const stop = startTime ? forwardSignals(pid, startTime, terminal?.resize) : () => {};
  try {
    const status = exitStatus(await exited);
    // The last output, unless something the process left behind still holds the tty.
    if (terminal) await Promise.race([terminal.drained, sleep(TERMINAL_DRAIN_MS)]);
    return { pid, status };
  } finally {
    stop();
    terminal?.close();
  }
}
