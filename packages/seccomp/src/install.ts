// Loading a compiled program on the calling thread: the container's init does this
// as the very last step before execve, so nothing the runtime still has to do runs
// under the container's filter.
import {
  close,
  connectUnix,
  prctlSetSeccompFilter,
  SysError,
  seccompSetModeFilter,
  sendFds,
  stageError,
} from '@ctr/sys';
import { SECCOMP_FILTER_FLAG, type SeccompProgram } from './compile.ts';

const EACCES = 13;
const EINVAL = 22;
const ENOSYS = 38;

/**
 * Installs the filter on the calling thread with seccomp(2), falling back to
 * prctl(PR_SET_SECCOMP) on kernels without seccomp(2) when no flags are needed.
 * The thread must have no_new_privs set or hold CAP_SYS_ADMIN. Returns the
 * listener fd when the profile uses SCMP_ACT_NOTIFY (send it with sendListenerFd,
 * then close it), else undefined. Only the calling thread is filtered unless the
 * profile asks for SECCOMP_FILTER_FLAG_TSYNC: in Node that is the main thread, the
 * one that execs the container's process.
 */
export function installSeccomp(program: SeccompProgram): number | undefined {
  const bytes = program.bytes();
  let flags = program.flags;
  for (;;) {
    try {
      const fd = seccompSetModeFilter(bytes, flags);
      return flags & SECCOMP_FILTER_FLAG.NEW_LISTENER ? fd : undefined;
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      if (e.errno === ENOSYS && flags === 0) {
        try {
          prctlSetSeccompFilter(bytes);
          return undefined;
        } catch (p) {
          throw wrap(p);
        }
      }
      // WAIT_KILLABLE_RECV (Linux 5.19) only changes how a notified task waits:
      // without it the filter still does what the profile says.
      if (e.errno === EINVAL && flags & SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV) {
        flags &= ~SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
        continue;
      }
      throw wrap(e);
    }
  }
}

function wrap(e: unknown) {
  const errno = e instanceof SysError ? e.errno : undefined;
  return stageError({
    stage: 'seccomp',
    op: 'install the filter',
    hint:
      errno === EACCES
        ? 'set no_new_privs first (process.noNewPrivileges) or keep CAP_SYS_ADMIN until the filter is installed'
        : errno === EINVAL
          ? 'the kernel rejected the program or its flags (a flag newer than this kernel, or TSYNC with threads under another filter)'
          : undefined,
    cause: e,
  });
}

/** What the supervisor on listenerPath receives with the fd (runtime-spec ContainerProcessState). */
export interface ListenerHandover {
  /** The container process the listener belongs to. */
  pid: number;
  /** The container's OCI state (id, status, pid, bundle, annotations). */
  state: Record<string, unknown>;
  /** linux.seccomp.listenerMetadata, passed through. */
  metadata?: string | undefined;
  ociVersion?: string;
}

/**
 * Sends the seccomp listener fd to the supervisor listening on `listenerPath`, with
 * the container process state as JSON in the same message, as runc does (the fd is
 * named "seccompFd" in `fds`). The caller closes its own copy of the fd afterwards.
 */
export function sendListenerFd(listenerPath: string, fd: number, handover: ListenerHandover): void {
  const message = {
    ociVersion: handover.ociVersion ?? '1.2.0',
    fds: ['seccompFd'],
    pid: handover.pid,
    metadata: handover.metadata ?? '',
    state: handover.state,
  };
  try {
    const sock = connectUnix(listenerPath);
    try {
      sendFds(sock, Buffer.from(JSON.stringify(message)), [fd]);
    } finally {
      close(sock);
    }
  } catch (e) {
    throw stageError({
      stage: 'seccomp',
      op: `send the seccomp listener to ${listenerPath}`,
      path: listenerPath,
      hint: 'the seccomp agent must listen on linux.seccomp.listenerPath (a unix stream socket) before the container starts',
      cause: e,
    });
  }
}
