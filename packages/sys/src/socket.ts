// AF_UNIX sockets the runtime needs beyond node:net: a socketpair whose raw fd can be
// handed to a child (the init's sync pipe), and SCM_RIGHTS fd passing (the pty master
// for --console-socket, exactly as runc sends it).
import { check, koffi, libc } from './libc.ts';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;

const Iovec = koffi.struct('ctr_socket_iovec', { base: 'void *', len: 'size_t' });
koffi.struct('ctr_socket_msghdr', {
  name: 'void *',
  namelen: 'uint32_t',
  iov: koffi.pointer(Iovec),
  iovlen: 'size_t',
  control: 'void *',
  controllen: 'size_t',
  flags: 'int',
});

const _socketpair = libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)');
const _socket = libc.func('int socket(int domain, int type, int protocol)');
const _connect = libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)');
const _bind = libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)');
const _listen = libc.func('int listen(int fd, int backlog)');
const _accept4 = libc.func('int accept4(int fd, void *addr, void *len, int flags)');
const _sendmsg = libc.func('long sendmsg(int fd, const ctr_socket_msghdr *msg, int flags)');
const _recvmsg = libc.func('long recvmsg(int fd, _Inout_ ctr_socket_msghdr *msg, int flags)');
const _close = libc.func('int close(int fd)');

/** Creates a connected pair of AF_UNIX stream sockets, both close-on-exec (socketpair(2)). */
export function socketpair(): [number, number] {
  const sv = new Int32Array(2);
  check('socketpair', _socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  return [sv[0]!, sv[1]!];
}

/** Connects a new close-on-exec AF_UNIX stream socket to `path` (socket(2), connect(2)). */
export function connectUnix(path: string): number {
  const addr = unixAddress(path);
  const fd = check('socket', _socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), path);
  try {
    check('connect', _connect(fd, addr, addr.length), path, 'nothing listens on this socket');
  } catch (e) {
    _close(fd);
    throw e;
  }
  return fd;
}

/**
 * Creates an AF_UNIX stream socket file at `path` and listens on it (socket(2),
 * bind(2), listen(2)). Close-on-exec and non-blocking: acceptUnix never waits.
 */
export function listenUnix(path: string): number {
  const addr = unixAddress(path);
  const fd = check('socket', _socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), path);
  try {
    check(
      'bind',
      _bind(fd, addr, addr.length),
      path,
      'the path exists already or its directory is not writable',
    );
    check('listen', _listen(fd, 1), path);
  } catch (e) {
    _close(fd);
    throw e;
  }
  return fd;
}

/**
 * Takes a pending connection from a listenUnix socket as a close-on-exec, blocking
 * socket (accept4(2)); EAGAIN when nobody has connected yet.
 */
export function acceptUnix(fd: number): number {
  return check('accept4', _accept4(fd, null, null, SOCK_CLOEXEC), undefined, 'nobody has connected yet');
}

function unixAddress(path: string): Buffer {
  const raw = Buffer.from(path);
  if (raw.length >= 108) {
    throw new RangeError(`sys: unix socket path too long (${raw.length} bytes, max 107): ${path}`);
  }
  const addr = Buffer.alloc(2 + raw.length + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  raw.copy(addr, 2);
  return addr;
}

/** Sends `payload` with `fds` attached as SCM_RIGHTS on a connected socket (sendmsg(2)). */
export function sendFds(sock: number, payload: Buffer, fds: readonly number[]): void {
  const control = Buffer.alloc(cmsgSpace(fds.length));
  control.writeBigUInt64LE(BigInt(16 + 4 * fds.length), 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  fds.forEach((fd, i) => {
    control.writeInt32LE(fd, 16 + 4 * i);
  });
  const body = payload.length > 0 ? payload : Buffer.from([0]);
  const msg = {
    name: null,
    namelen: 0,
    iov: { base: body, len: body.length },
    iovlen: 1,
    control,
    controllen: control.length,
    flags: 0,
  };
  check('sendmsg', Number(_sendmsg(sock, msg, MSG_NOSIGNAL)));
}

/** Receives one message and up to `maxFds` SCM_RIGHTS fds, opened close-on-exec (recvmsg(2)). */
export function recvFds(sock: number, maxFds = 1, size = 4096): { payload: Buffer; fds: number[] } {
  const body = Buffer.alloc(size);
  const control = Buffer.alloc(cmsgSpace(maxFds));
  const msg = {
    name: null,
    namelen: 0,
    iov: { base: body, len: size },
    iovlen: 1,
    control,
    controllen: control.length,
    flags: 0,
  };
  const n = check('recvmsg', Number(_recvmsg(sock, msg, MSG_CMSG_CLOEXEC)));
  const fds: number[] = [];
  const controllen = Number(msg.controllen);
  let off = 0;
  while (off + 16 <= controllen) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < 16) break;
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += (len + 7) & ~7;
  }
  return { payload: body.subarray(0, n), fds };
}

function cmsgSpace(fds: number): number {
  return 16 + ((4 * fds + 7) & ~7);
}
