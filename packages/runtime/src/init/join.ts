// The order of operations of a process joining a running container (runc's setns
// init), written down once next to order.ts for a new container. The helper starts
// inside every namespace of the container but the mount namespace, and inside its
// cgroup; the runtime put it there before sending the bootstrap.
import { planPrivileges, probePrivilegesHost } from '@ctr/capabilities';
import { CLONE, close, setns, stageError, unshare } from '@ctr/sys';
import { attachConsole, connectConsoleSocket, openConsole, prepareConsole } from './console.ts';
import { type Program, prepareProgram } from './program.ts';
import type { ExecBootstrap } from './protocol.ts';

/** Everything up to the exec of the program; the caller reports "ready" and execs it. */
export function joinContainer(boot: ExecBootstrap, syncFd: number): Program {
  const proc = boot.process;
  // Planned while the host's /proc is still there to probe.
  const privileges = planPrivileges(proc, probePrivilegesHost(), { personality: boot.personality });
  // Connected while the socket's host path is reachable; the pty comes from the
  // container's own devpts once inside, as in runc.
  const terminal =
    proc.terminal && boot.consoleSocket
      ? prepareConsole(connectConsoleSocket(boot.consoleSocket), proc.consoleSize)
      : undefined;
  if (boot.joinMount) {
    const fd = syncFd + 1;
    try {
      // setns refuses a mount namespace to a thread that shares its root and cwd with
      // others (Node's threads), so this thread takes a private copy first.
      unshare(CLONE.FS);
      setns(fd, CLONE.NEWNS);
    } catch (cause) {
      throw stageError({ stage: 'namespaces', op: 'join the container mount namespace', cause });
    } finally {
      close(fd);
    }
  }
  if (terminal) {
    openConsole(terminal, '/');
    attachConsole(terminal, proc.user.uid);
  }
  return prepareProgram(proc, privileges, boot.seccomp);
}
