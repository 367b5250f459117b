import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInTerminal, runTool, type ToolResult } from './tools.ts';

/**
 * containerd's client is also called ctr; ours comes first on the tools' PATH, so it is
 * named by its Debian path.
 */
export const CONTAINERD_CLIENT = '/usr/bin/ctr';

export interface Containerd {
  socket: string;
  /** containerd's own client in namespace `ctrtest`. */
  client(args: string[]): Promise<ToolResult>;
  /** The client under a pseudo-terminal (util-linux script), for `run -t`. */
  clientInTerminal(args: string[]): Promise<ToolResult>;
  /** The runc options that point the shim at our runtime, as `ctr run` flags. */
  runtimeFlags: string[];
  stop(): Promise<void>;
}

/**
 * Starts a containerd daemon whose root, state and sockets live under `dir`, with the
 * CRI plugin off (no kubelet here). The daemon dies with the test runner
 * (setpriv's parent-death signal).
 */
export async function startContainerd(dir: string, runtime: string): Promise<Containerd> {
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  mkdirSync(join(dir, 'runc'), { recursive: true });
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '',
    ].join('\n'),
  );
  const daemon: ChildProcess = spawn(
    'setpriv',
    ['--pdeathsig', 'SIGKILL', 'containerd', '--config', config],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  daemon.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  let exited = false;
  daemon.on('exit', () => {
    exited = true;
  });
  const clientArgs = ['--address', socket, '--namespace', 'ctrtest'];
  const client = (args: string[]): Promise<ToolResult> =>
    runTool(CONTAINERD_CLIENT, [...clientArgs, ...args]);
  for (let i = 0; !existsSync(socket) || (await client(['version'])).code !== 0; i++) {
    if (exited || i > 100) throw new Error(`containerd did not start:\n${log}`);
    await sleep(100);
  }
  return {
    socket,
    client,
    clientInTerminal: (args) => runInTerminal([CONTAINERD_CLIENT, ...clientArgs, ...args]),
    // What a CRI runtime handler's options.BinaryName/Root set for Kubernetes; the
    // client sets the same io.containerd.runc.v2 options per container.
    runtimeFlags: ['--runc-binary', runtime, '--runc-root', join(dir, 'runc')],
    stop: async () => {
      if (exited) return;
      const gone = new Promise((resolve) => daemon.once('exit', resolve));
      daemon.kill('SIGTERM');
      await gone;
    },
  };
}
