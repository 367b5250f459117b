// seccomp(2): loading a classic-BPF syscall filter on the calling thread, and
// handing its user-notification listener to a supervisor. The filter itself is
// compiled by @ctr/seccomp; this file only talks to the kernel.
import { check, koffi, libc, rawSyscall } from './libc.ts';

/** seccomp(2) operations (linux/seccomp.h). */
export const SECCOMP_OP = {
  SET_MODE_STRICT: 0,
  SET_MODE_FILTER: 1,
  GET_ACTION_AVAIL: 2,
  GET_NOTIF_SIZES: 3,
} as const;

const PR_SET_SECCOMP = 22;
const SECCOMP_MODE_FILTER = 2;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;

const SockFprog = koffi.struct('ctr_sock_fprog', { len: 'uint16_t', filter: 'void *' });
const SockFprogPtr = koffi.pointer(SockFprog);
const Iovec = koffi.struct('ctr_iovec', { base: 'void *', len: 'size_t' });
// Registered by name for the sendmsg declaration below.
koffi.struct('ctr_msghdr', {
  name: 'void *',
  namelen: 'uint32_t',
  iov: koffi.pointer(Iovec),
  iovlen: 'size_t',
  control: 'void *',
  controllen: 'size_t',
  flags: 'int',
});

const _prctl = libc.func(
  'int prctl(int option, unsigned long arg2, ctr_sock_fprog *arg3, unsigned long arg4, unsigned long arg5)',
);
const _socket = libc.func('int socket(int domain, int type, int protocol)');
const _connect = libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)');
const _sendmsg = libc.func('long sendmsg(int fd, const ctr_msghdr *msg, int flags)');
const _close = libc.func('int close(int fd)');

function fprog(program: Buffer): { len: number; filter: Buffer } {
  if (program.length === 0 || program.length % 8 !== 0 || program.length / 8 > 0xffff) {
    throw new RangeError(
      `sys: a BPF program is a non-empty array of 8-byte instructions, not ${program.length} bytes`,
    );
  }
  return { len: program.length / 8, filter: program };
}

/**
 * Loads a seccomp filter (an array of `struct sock_filter`) on the calling thread
 * with seccomp(2) SECCOMP_SET_MODE_FILTER. Irreversible: the thread and every
 * process it execs or spawns stay filtered. Returns the listener fd when `flags`
 * has SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0.
 */
export function seccompSetModeFilter(program: Buffer, flags: number): number {
  return rawSyscall(
    'seccomp',
    [
      ['unsigned int', SECCOMP_OP.SET_MODE_FILTER],
      ['unsigned int', flags],
      [SockFprogPtr as unknown as string, fprog(program)],
    ],
    undefined,
    'seccomp filters need no_new_privs set on the thread or CAP_SYS_ADMIN (EACCES), a valid program and flags this kernel knows (EINVAL)',
  );
}

/**
 * Loads a seccomp filter on the calling thread through prctl(PR_SET_SECCOMP), the
 * interface older than seccomp(2); it takes no flags.
 */
export function prctlSetSeccompFilter(program: Buffer): void {
  check(
    'prctl',
    _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog(program), 0, 0),
    undefined,
    'PR_SET_SECCOMP needs no_new_privs set on the thread or CAP_SYS_ADMIN',
  );
}

/** Whether this kernel knows a filter return action (SECCOMP_GET_ACTION_AVAIL); changes nothing. */
export function seccompActionAvailable(action: number): boolean {
  try {
    rawSyscall('seccomp', [
      ['unsigned int', SECCOMP_OP.GET_ACTION_AVAIL],
      ['unsigned int', 0],
      ['uint32_t *', new Uint32Array([action >>> 0])],
    ]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Connects to the unix stream socket at `socketPath` and sends `payload` with `fd`
 * attached (SCM_RIGHTS): how a runtime hands a seccomp listener to its supervisor.
 * The socket is closed afterwards; `fd` stays open in this process.
 */
export function sendSeccompListenerFd(socketPath: string, fd: number, payload: Buffer): void {
  const path = Buffer.from(socketPath);
  if (path.length >= 108)
    throw new RangeError(`sys: unix socket path too long (${path.length} bytes, max 107): ${socketPath}`);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  path.copy(addr, 2);
  const sock = check('socket', _socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), socketPath);
  try {
    check(
      'connect',
      _connect(sock, addr, 2 + path.length + 1),
      socketPath,
      'nothing listens on the seccomp listenerPath',
    );
    // struct cmsghdr { size_t len; int level; int type; } followed by the fd, padded to 8.
    const control = Buffer.alloc(24);
    control.writeBigUInt64LE(20n, 0);
    control.writeInt32LE(SOL_SOCKET, 8);
    control.writeInt32LE(SCM_RIGHTS, 12);
    control.writeInt32LE(fd, 16);
    const body = payload.length > 0 ? payload : Buffer.from([0]);
    const sent = Number(
      _sendmsg(
        sock,
        {
          name: null,
          namelen: 0,
          iov: { base: body, len: body.length },
          iovlen: 1,
          control,
          controllen: control.length,
          flags: 0,
        },
        MSG_NOSIGNAL,
      ),
    );
    check('sendmsg', sent, socketPath);
    if (sent !== body.length) {
      throw new RangeError(`sys: sendmsg to ${socketPath} sent ${sent} of ${body.length} bytes`);
    }
  } finally {
    _close(sock);
  }
}
