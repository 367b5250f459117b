// Namespaces of the calling thread. Node is always multithreaded, so these act on one
// thread only: unshare(CLONE_NEWUSER) and setns into a user namespace fail with EINVAL
// here (the kernel demands a single-threaded caller), every other type works per thread.
import { SysError } from './errors.ts';
import { AT, close, FS_MAGIC, fstatfsType, O, openat, readlinkat } from './fs.ts';
import { check, lastErrno, libc } from './libc.ts';

/** clone(2)/unshare(2) flags: the namespace types and the shared contexts a thread can leave. */
export const CLONE = {
  NEWTIME: 0x00000080,
  FS: 0x00000200,
  FILES: 0x00000400,
  NEWNS: 0x00020000,
  SYSVSEM: 0x00040000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

/** The names of the entries of /proc/<pid>/ns, keyed by their CLONE_NEW* flag. */
export const NS_FILES = {
  [CLONE.NEWNS]: 'mnt',
  [CLONE.NEWCGROUP]: 'cgroup',
  [CLONE.NEWUTS]: 'uts',
  [CLONE.NEWIPC]: 'ipc',
  [CLONE.NEWUSER]: 'user',
  [CLONE.NEWPID]: 'pid',
  [CLONE.NEWNET]: 'net',
  [CLONE.NEWTIME]: 'time',
} as const;

export type NsFile = (typeof NS_FILES)[keyof typeof NS_FILES];

// linux/nsfs.h: _IO(0xb7, n)
const NS_GET_NSTYPE = 0xb703;

const _unshare = libc.func('int unshare(int flags)');
const _setns = libc.func('int setns(int fd, int nstype)');
const _sethostname = libc.func('int sethostname(const char *name, size_t len)');
const _setdomainname = libc.func('int setdomainname(const char *name, size_t len)');
const _ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');

/** Moves the calling thread into new namespaces (unshare(2)); CLONE.FS must come with CLONE.NEWNS. */
export function unshare(flags: number): void {
  check(
    'unshare',
    _unshare(flags),
    undefined,
    flags & CLONE.NEWUSER
      ? 'a user namespace needs a single-threaded caller and Node never is one; create it with unshare(1) as the first step of the launch command'
      : undefined,
  );
}

/** Moves the calling thread into the namespace an nsfs fd refers to (setns(2)); nstype 0 accepts any. */
export function setns(fd: number, nstype = 0): void {
  check(
    'setns',
    _setns(fd, nstype),
    undefined,
    nstype === CLONE.NEWUSER
      ? 'joining a user namespace needs a single-threaded caller; use nsenter(1) in the launch command'
      : undefined,
  );
}

/** Sets the hostname of the calling thread's UTS namespace (sethostname(2)). */
export function sethostname(name: string): void {
  const b = Buffer.from(name);
  check('sethostname', _sethostname(b, b.length), name);
}

/** Sets the NIS domain name of the calling thread's UTS namespace (setdomainname(2)). */
export function setdomainname(name: string): void {
  const b = Buffer.from(name);
  check('setdomainname', _setdomainname(b, b.length), name);
}

/** The CLONE_NEW* type of the namespace an fd refers to (ioctl NS_GET_NSTYPE); throws if it is no namespace. */
export function namespaceType(fd: number, path?: string): number {
  if (fstatfsType(fd) !== FS_MAGIC.NSFS) {
    throw new SysError('ioctl NS_GET_NSTYPE', 22, path, 'not a namespace file (it is not on nsfs)');
  }
  const ret = _ioctl(fd, NS_GET_NSTYPE);
  if (ret < 0) throw new SysError('ioctl NS_GET_NSTYPE', lastErrno(), path);
  return ret;
}

/**
 * Opens a namespace file and checks that it really is a namespace of type `nstype`
 * (a CLONE_NEW* flag): a bind-mounted nsfs file is the only thing setns should see.
 * Returns the fd (O_RDONLY, close-on-exec).
 */
export function openNamespace(path: string, nstype: number): number {
  const fd = openat(AT.FDCWD, path, O.RDONLY);
  try {
    const actual = namespaceType(fd, path);
    if (actual !== nstype) {
      const name = (t: number) => NS_FILES[t as keyof typeof NS_FILES] ?? `0x${t.toString(16)}`;
      throw new SysError(
        'ioctl NS_GET_NSTYPE',
        22,
        path,
        `it is a ${name(actual)} namespace, not a ${name(nstype)} namespace`,
      );
    }
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  }
}

/**
 * The inode number identifying a namespace of a task, from the link
 * /proc/<pid>/ns/<type> ("mnt:[4026531841]"). `pid` may be "self" (the thread group
 * leader) or "thread-self" (the calling thread, which is what unshare changes).
 */
export function namespaceId(pid: number | 'self' | 'thread-self', type: NsFile): bigint {
  const link = readlinkat(AT.FDCWD, `/proc/${pid}/ns/${type}`);
  const m = /^[a-z_]+:\[(\d+)\]$/.exec(link);
  if (!m?.[1]) throw new SysError('readlink', 22, `/proc/${pid}/ns/${type}`, `unexpected link ${link}`);
  return BigInt(m[1]);
}
