// The order of operations of a new container's init, written down once so a reviewer
// sees it whole (runc's standard_init). Every step is a stage package's apply; the
// init only sequences them and reports.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { planPrivileges, probePrivilegesHost } from '@ctr/capabilities';
import { applyNamespaceOps } from '@ctr/namespaces';
import { applyRootfs } from '@ctr/rootfs';
import { AT, CtrError, O, openat, procFdPath } from '@ctr/sys';
import { hookInvocation } from '../hooks.ts';
import { receive, send } from './channel.ts';
import { attachConsole, connectConsoleSocket, consoleAtRootfs, prepareConsole } from './console.ts';
import { execProgram, type Program, prepareProgram } from './program.ts';
import type { Bootstrap } from './protocol.ts';

/**
 * Everything up to "created": runs on the init's only JavaScript thread, inside the
 * namespaces the launcher made and the cgroup the runtime placed it in.
 */
export function setupContainer(boot: Bootstrap, syncFd: number): { program: Program; fifoPath: string } {
  const config = boot.config;
  const proc = config.process!;
  // Opened before pivot_root, while the host path is reachable, and before taking
  // a user namespace's root, whose host uid may not search the state directory;
  // O_PATH because opening a fifo for real blocks until `start` opens the other end.
  const fifoFd = openat(AT.FDCWD, boot.execFifo, O.PATH);
  // 1. What unshare(1) could not do for us: become root of its user namespace (the
  //    bootstrap arrives only once the maps are written), the uts names.
  applyNamespaceOps(boot.namespaceOps);

  // 2. prestart, createRuntime and createContainer hooks: the runtime runs them while
  //    the init waits, with the namespaces in place (runtime-spec config.md "Lifecycle").
  const hooks = config.hooks;
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

  // Planned while the host's /proc is still there to probe (the container may mount none).
  const privileges = planPrivileges(proc, probePrivilegesHost(), config.linux);

  const terminal = boot.consoleSocket
    ? prepareConsole(connectConsoleSocket(boot.consoleSocket), proc.consoleSize)
    : undefined;

  // 3. Root filesystem: propagation, mounts, /dev, pivot_root, sysctls, read-only
  //    and masked paths. Afterwards no host path (the Node binary, this script, the
  //    state directory) is reachable from the container (CVE-2019-5736).
  //    The pty is opened from the container's devpts at the plan's console op.
  applyRootfs(boot.rootfs, terminal ? consoleAtRootfs(terminal, boot.rootfs.root) : {});
  let fifoPath: string;
  try {
    fifoPath = procFdPath(fifoFd);
  } catch (cause) {
    throw new CtrError({
      stage: 'runtime',
      op: 'find /proc/self/fd in the container',
      hint: 'the runtime reopens its exec fifo through procfs: mount proc at /proc in config.json mounts',
      cause,
    });
  }

  if (terminal) attachConsole(terminal, proc.user.uid);

  // 4. seccomp compiled (a bad profile fails `create`), 5. privileges, cwd, program.
  const program = prepareProgram(proc, privileges, config.linux?.seccomp);
  return { program, fifoPath };
}

/** Blocks until `start`, then replaces the init with the program. Never returns. */
export function startProgram(boot: Bootstrap, program: Program, fifoPath: string): never {
  // Reopening through procfs turns the O_PATH handle into a real open, which blocks
  // until `start` opens the fifo for reading.
  const fifo = openSync(fifoPath, 'w');
  writeSync(fifo, '0');
  closeSync(fifo);

  // 6. startContainer hooks, inside the container, before the program (config.md).
  runStartContainerHooks(boot);
  // 7. Last: the seccomp filter, so it never sees the runtime's own syscalls.
  execProgram(program, boot.preserveFds);
}

/**
 * Runs the startContainer hooks from inside the container (their path resolves in its
 * root). A failure stops the container: the spec says the runtime must not run the
 * program then.
 */
function runStartContainerHooks(boot: Bootstrap): void {
  const hooks = boot.config.hooks?.startContainer ?? [];
  if (hooks.length === 0) return;
  const state = JSON.stringify({
    ociVersion: boot.config.ociVersion,
    id: boot.id,
    status: 'running',
    pid: boot.pid,
    bundle: boot.bundle,
    ...(boot.config.annotations ? { annotations: boot.config.annotations } : {}),
  });
  for (const hook of hooks) {
    const { args, argv0, env } = hookInvocation(hook);
    const r = spawnSync(hook.path, args, {
      argv0,
      env,
      input: state,
      stdio: ['pipe', 'ignore', 'pipe'],
      ...(hook.timeout ? { timeout: hook.timeout * 1000, killSignal: 'SIGKILL' as const } : {}),
    });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
      throw new CtrError({
        stage: 'runtime',
        op: `startContainer hook ${hook.path}`,
        hint: `${why}${r.stderr?.length ? `: ${r.stderr.toString().trim()}` : ''}`,
      });
    }
  }
}
