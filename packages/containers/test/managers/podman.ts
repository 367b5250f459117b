import { join } from 'node:path';
import { runInTerminal, runTool, type ToolResult } from './tools.ts';

export interface Podman {
  /** `podman <global flags> args…`. */
  run(args: string[]): Promise<ToolResult>;
  /** The same under a pseudo-terminal (util-linux script), for `-it`. */
  runInTerminal(args: string[]): Promise<ToolResult>;
  /** Removes every container and the image store (unmounting its overlays). */
  reset(): Promise<void>;
}

/**
 * This machine's bounding set lacks CAP_SYS_RESOURCE, so podman's default rlimits
 * (nofile and nproc raised to the host's maximum) cannot be set by any runtime: runc
 * and crun fail the same way. Every `podman run` here passes lower ones.
 */
export const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

/**
 * A podman whose storage, run state and temp files live under `dir`, so tests never
 * touch the host's containers and images. cgroupfs: there is no systemd to ask for
 * scopes; the file events backend: no journald either.
 */
export function isolatedPodman(dir: string, runtime: string): Podman {
  const globals = [
    '--root',
    join(dir, 'storage'),
    '--runroot',
    join(dir, 'run'),
    '--tmpdir',
    join(dir, 'tmp'),
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--runtime',
    runtime,
  ];
  const run = (args: string[]): Promise<ToolResult> => runTool('podman', [...globals, ...args]);
  return {
    run,
    runInTerminal: (args) => runInTerminal(['podman', ...globals, ...args]),
    reset: async () => {
      await run(['rm', '--all', '--force', '--time', '0']);
      await run(['system', 'reset', '--force']);
    },
  };
}
