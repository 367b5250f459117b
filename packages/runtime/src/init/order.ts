// The order of operations of a new container's init, written down once so a reviewer
// sees it whole (runc's standard_init). Every step is a stage package's apply; the
// init only sequences them and reports.
import { closeSync, openSync, writeSync } from 'node:fs';
import { AT, CtrError, O, openat, procFdPath } from '@ctr/sys';
import { receive, send } from './channel.ts';
import { checkExecutable, resolveExecutable } from './executable.ts';
import { prepareFdsForExec } from './fds.ts';
import type { Bootstrap } from './protocol.ts';

/** What the init execs once `start` opens the fifo. */
interface Program {
  path: string;
  args: string[];
  env: string[];
}

/**
 * Everything up to "created": runs on the init's only thread, inside the namespaces
 * the launcher created and the cgroup the runtime placed it in.
 */
export function setupContainer(boot: Bootstrap, syncFd: number): { program: Program; fifoFd: number } {
  const proc = boot.config.process!;
  // Opened before pivot_root, while the host path is reachable; O_PATH because
  // opening a fifo for real blocks until `start` opens the other end.
  const fifoFd = openat(AT.FDCWD, boot.execFifo, O.PATH);

  // 1. Root filesystem: mounts, /dev, pivot_root, read-only and masked paths.
  //    Waiting for @ctr/rootfs (applyRootfs); until it lands the init stays on the
  //    host's filesystem.

  // 2. createRuntime and createContainer hooks run between the mounts and pivot_root
  //    (runtime-spec config.md "Lifecycle"); the runtime runs them, the init waits.
  const hooks = boot.config.hooks;
  if (hooks?.prestart?.length || hooks?.createRuntime?.length || hooks?.createContainer?.length) {
    send(syncFd, { type: 'hooks' });
    const reply = receive(syncFd);
    if (reply.type !== 'hooks-done') {
      throw new CtrError({
        stage: 'runtime',
        op: 'run createRuntime hooks',
        hint: reply.type === 'abort' ? reply.reason : 'unexpected reply',
      });
    }
  }

  // 3. Hostname and sysctls: waiting for @ctr/rootfs.
  // 4. rlimits, oom score, capabilities, groups and ids, no_new_privs: waiting for
  //    @ctr/capabilities (applyPrivileges).
  // 5. Compile the seccomp filter now so a bad profile fails `create`; it is
  //    installed after the fifo, last before execve: waiting for @ctr/seccomp.

  try {
    process.chdir(proc.cwd);
  } catch (cause) {
    throw new CtrError({
      stage: 'runtime',
      op: `chdir to process.cwd ${proc.cwd}`,
      hint: 'the working directory must exist inside the container',
      cause,
    });
  }
  // CVE-2024-21626: a cwd that resolves outside the root (a leaked directory fd)
  // reads back without a leading slash.
  if (!process.cwd().startsWith('/')) {
    throw new CtrError({
      stage: 'runtime',
      op: 'check cwd',
      hint: 'the working directory is outside the container',
    });
  }
  const args = proc.args ?? [];
  if (args.length === 0) {
    throw new CtrError({ stage: 'spec', op: 'process.args', hint: '$.process.args: must name a program' });
  }
  const env = proc.env ?? [];
  const path = resolveExecutable(args[0]!, env);
  checkExecutable(args[0]!, path);
  return { program: { path, args, env }, fifoFd };
}

/** Blocks until `start`, then replaces the init with the program. Never returns. */
export function startProgram(boot: Bootstrap, program: Program, fifoFd: number): never {
  // Reopening through procfs turns the O_PATH handle into a real open, which blocks
  // until `start` opens the fifo for reading.
  const fifo = openSync(procFdPath(fifoFd), 'w');
  writeSync(fifo, '0');
  closeSync(fifo);

  // 6. startContainer hooks: waiting for the hooks runner inside the container.
  // 7. Install the seccomp filter: waiting for @ctr/seccomp.

  prepareFdsForExec(boot.preserveFds);
  const env: Record<string, string> = {};
  for (const entry of program.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  process.execve!(program.path, program.args, env);
  // execve returns only by throwing.
  process.exit(127);
}
