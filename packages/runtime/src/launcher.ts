import { type ChildProcess, spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CtrError } from '@ctr/sys';
import type { FromInit, ToInit } from './init/protocol.ts';

const fromSources = import.meta.url.endsWith('.ts');
const initEntry = fileURLToPath(new URL(`./init/main.${fromSources ? 'ts' : 'js'}`, import.meta.url));

/** The runtime's end of the sync pipe to an init. */
export class InitChannel {
  private readonly socket: Duplex;
  private buffered = '';
  private readonly queue: FromInit[] = [];
  private waiter: ((m: FromInit | undefined) => void) | undefined;
  private closed = false;

  constructor(socket: Duplex) {
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

/** One stdio slot of the container: inherited from the runtime, /dev/null, or an fd. */
export type StdioFd = 'inherit' | 'ignore' | number;

export interface LaunchOptions {
  /** stdin, stdout, stderr of the container: inherited fds or numbers. */
  stdio: readonly [StdioFd, StdioFd, StdioFd];
  /** Fds 3 .. 3+preserveFds-1 of the caller pass into the container (--preserve-fds). */
  preserveFds: number;
}

export interface LaunchedInit {
  child: ChildProcess;
  pid: number;
  channel: InitChannel;
}

/**
 * Spawns the init (`node init/main`) with the sync pipe after stdio and the preserved
 * fds. Node runs with an empty environment so nothing of the caller's (NODE_OPTIONS
 * above all) reaches the process that becomes the container.
 *
 * Namespaces: waiting for @ctr/namespaces' sacrificial-thread spawn helper; until it
 * lands the init starts in the runtime's own namespaces.
 */
export function launchInit(opts: LaunchOptions): LaunchedInit {
  const stdio: (StdioFd | 'pipe')[] = [...opts.stdio];
  for (let i = 0; i < opts.preserveFds; i++) stdio.push(3 + i);
  const syncIndex = stdio.length;
  stdio.push('pipe');
  const child = spawn(
    process.execPath,
    [...(fromSources ? ['--conditions=source'] : []), initEntry, String(syncIndex)],
    { stdio, detached: true, env: {}, cwd: '/' },
  );
  if (child.pid === undefined) {
    throw new CtrError({
      stage: 'runtime',
      op: 'spawn the container init',
      hint: `could not run ${process.execPath}`,
    });
  }
  const socket = child.stdio[syncIndex] as Duplex;
  return { child, pid: child.pid, channel: new InitChannel(socket) };
}
