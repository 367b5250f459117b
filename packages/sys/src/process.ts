// Process and file-descriptor control the runtime needs around a container's init:
// fd flags before execve, advisory locks on the container store, pidfds so a signal
// never reaches a recycled pid.
import { check, libc, rawSyscall } from './libc.ts';

const _fcntl = libc.func('int fcntl(int fd, int cmd, ...)');
const _flock = libc.func('int flock(int fd, int operation)');
const _setsid = libc.func('int setsid(void)');
const _signal = libc.func('void *signal(int sig, void *handler)');
const _sigprocmask = libc.func('int sigprocmask(int how, const uint8_t *set, _Out_ uint8_t *old)');
const _ioctl = libc.func('int ioctl(int fd, unsigned long request, unsigned long arg)');
const _ioctlBuf = libc.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)');
const SIG_SETMASK = 2;

const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const O_NONBLOCK = 0o4000;

/** flock(2) operations; combine EX or SH with NB to fail with EWOULDBLOCK instead of waiting. */
export const LOCK = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;

/** close_range(2) flags. */
export const CLOSE_RANGE = { UNSHARE: 2, CLOEXEC: 4 } as const;

/** Whether FD_CLOEXEC is set on `fd` (fcntl F_GETFD). */
export function isCloseOnExec(fd: number): boolean {
  return (check('fcntl', _fcntl(fd, F_GETFD)) & FD_CLOEXEC) !== 0;
}

/**
 * Sets or clears FD_CLOEXEC on `fd` (fcntl F_SETFD). Node marks 0, 1 and 2 close-on-exec
 * in its own process, so an init must clear it before execve or the program has no stdio.
 */
export function setCloseOnExec(fd: number, on: boolean): void {
  const flags = check('fcntl', _fcntl(fd, F_GETFD));
  const next = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
  if (next !== flags) check('fcntl', _fcntl(fd, F_SETFD, 'int', next));
}

/** Sets or clears O_NONBLOCK on the open file description of `fd` (fcntl F_SETFL). */
export function setNonBlocking(fd: number, on: boolean): void {
  const flags = check('fcntl', _fcntl(fd, F_GETFL));
  const next = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (next !== flags) check('fcntl', _fcntl(fd, F_SETFL, 'int', next));
}

/**
 * Applies or removes an advisory lock on the open file of `fd` (flock(2)). The lock
 * belongs to the open file description and vanishes when the holder dies, so a
 * crashed command never leaves a container locked.
 */
export function flock(fd: number, operation: number, path?: string): void {
  check(
    'flock',
    _flock(fd, operation),
    path,
    operation & LOCK.NB ? 'another process holds the lock (EWOULDBLOCK)' : undefined,
  );
}

/**
 * Closes, or with CLOSE_RANGE.CLOEXEC marks close-on-exec, every fd from `first` to
 * `last` (close_range(2)): no runtime fd may survive into a container (CVE-2024-21626).
 */
export function closeRange(first: number, last = 0xffffffff, flags = 0): void {
  rawSyscall('close_range', [
    ['unsigned int', first],
    ['unsigned int', last],
    ['unsigned int', flags],
  ]);
}

/** pidfd_open(2) flags: THREAD (linux/pidfd.h, = O_EXCL, Linux 6.9) names one thread instead of a process. */
export const PIDFD = { THREAD: 0o200 } as const;

/** Opens a pidfd for `pid` (pidfd_open(2)); it keeps naming that process even after the pid is reused. */
export function pidfdOpen(pid: number, flags = 0): number {
  return rawSyscall(
    'pidfd_open',
    [
      ['int', pid],
      ['unsigned int', flags],
    ],
    `pid ${pid}`,
    'the process no longer exists',
  );
}

// linux/pidfd.h: PIDFD_GET_<type>_NAMESPACE = _IO(0xFF, n), Linux 6.11.
const PIDFD_GET_NAMESPACE = { pid: 0xff05, pid_for_children: 0xff06 } as const;

/**
 * Opens (O_CLOEXEC) the pid namespace of the thread or process a pidfd names, or the
 * one its children will be born in (ioctl PIDFD_GET_PID[_FOR_CHILDREN]_NAMESPACE).
 * Unlike /proc/<pid>/ns/pid_for_children, this works right after unshare(CLONE_NEWPID),
 * before the namespace has a process, so a procfs can be mounted for it in advance.
 */
export function pidfdPidNamespace(pidfd: number, which: keyof typeof PIDFD_GET_NAMESPACE): number {
  return check(
    `ioctl PIDFD_GET_${which.toUpperCase()}_NAMESPACE`,
    _ioctl(pidfd, PIDFD_GET_NAMESPACE[which], 0),
    undefined,
    'needs Linux 6.11 or later',
  );
}

// linux/pidfd.h (Linux 6.15): struct pidfd_info, 64 bytes in its first version, and
// PIDFD_GET_INFO = _IOWR(0xFF, 11, struct pidfd_info). The kernel fills what the mask
// asks for and says in the mask what it filled.
const PIDFD_INFO_SIZE = 64;
const PIDFD_GET_INFO = 0xc040ff0b;
const PIDFD_INFO_EXIT = 1n << 3n;
const PIDFD_INFO_EXIT_CODE_OFFSET = 60;

/**
 * The wait status (as waitpid(2) reports it) of the process a pidfd names, once it
 * has exited and been reaped, whoever its parent was; undefined while it runs, or on
 * a kernel without PIDFD_INFO_EXIT (before Linux 6.15).
 */
export function pidfdExitStatus(pidfd: number): number | undefined {
  const info = Buffer.alloc(PIDFD_INFO_SIZE);
  info.writeBigUInt64LE(PIDFD_INFO_EXIT, 0);
  if (_ioctlBuf(pidfd, PIDFD_GET_INFO, info) < 0) return undefined;
  if ((info.readBigUInt64LE(0) & PIDFD_INFO_EXIT) === 0n) return undefined;
  return info.readInt32LE(PIDFD_INFO_EXIT_CODE_OFFSET);
}

/** The calling thread's id (gettid(2)): what cgroup v1 `tasks` and a PIDFD.THREAD pidfd take. */
export function gettid(): number {
  return rawSyscall('gettid', []);
}

/** Sends `signal` to the process a pidfd names (pidfd_send_signal(2)). */
export function pidfdSendSignal(pidfd: number, signal: number): void {
  rawSyscall(
    'pidfd_send_signal',
    [
      ['int', pidfd],
      ['int', signal],
      ['void *', null],
      ['unsigned int', 0],
    ],
    undefined,
    'the process has exited',
  );
}

/** Starts a new session with the caller as leader (setsid(2)); needed before taking a controlling terminal. */
export function setsid(): number {
  return check('setsid', _setsid());
}

/**
 * Restores every signal to its default action and unblocks all of them on the
 * calling thread (signal(2), sigprocmask(2)). An ignored signal stays ignored across
 * execve: Node ignores SIGPIPE, and a shell started with SIGTERM ignored may not even
 * trap it, so an init resets them before it execs the container's program.
 */
export function resetSignals(): void {
  for (let sig = 1; sig <= 64; sig++) {
    // SIGKILL and SIGSTOP cannot be changed; 32 and 33 belong to glibc's threads.
    if (sig === 9 || sig === 19 || sig === 32 || sig === 33) continue;
    _signal(sig, null);
  }
  check('sigprocmask', _sigprocmask(SIG_SETMASK, Buffer.alloc(128), Buffer.alloc(128)));
}
