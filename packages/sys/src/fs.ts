// Files relative to directory fds. The rootfs and unpack stages resolve every path
// inside an attacker-controlled tree through these (runc CVE-2021-30465, umoci
// CVE-2021-29136): never a string path joined onto a host directory.
import { constants as fsc } from 'node:fs';
import { check, libc, rawSyscall } from './libc.ts';

/** open(2) flags; O_PATH and O_CLOEXEC are missing from node:fs constants. */
export const O = {
  RDONLY: fsc.O_RDONLY,
  WRONLY: fsc.O_WRONLY,
  RDWR: fsc.O_RDWR,
  CREAT: fsc.O_CREAT,
  EXCL: fsc.O_EXCL,
  TRUNC: fsc.O_TRUNC,
  APPEND: fsc.O_APPEND,
  NONBLOCK: fsc.O_NONBLOCK,
  DIRECTORY: fsc.O_DIRECTORY,
  NOFOLLOW: fsc.O_NOFOLLOW,
  NOCTTY: fsc.O_NOCTTY,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** *at(2) flags. */
export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  REMOVEDIR: 0x200,
  SYMLINK_FOLLOW: 0x400,
  NO_AUTOMOUNT: 0x800,
  EMPTY_PATH: 0x1000,
  RECURSIVE: 0x8000,
} as const;

/** openat2(2) resolve flags. */
export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
  CACHED: 0x20,
} as const;

/** renameat2(2) flags. */
export const RENAME = { NOREPLACE: 1, EXCHANGE: 2, WHITEOUT: 4 } as const;

/** File type bits of st_mode. */
export const S = {
  IFMT: 0o170000,
  IFSOCK: 0o140000,
  IFLNK: 0o120000,
  IFREG: 0o100000,
  IFBLK: 0o060000,
  IFDIR: 0o040000,
  IFCHR: 0o020000,
  IFIFO: 0o010000,
} as const;

/** Filesystem magic numbers (statfs f_type) that ctr checks before trusting a path. */
export const FS_MAGIC = {
  PROC: 0x9fa0,
  SYSFS: 0x62656572,
  TMPFS: 0x01021994,
  DEVPTS: 0x1cd1,
  CGROUP: 0x27e0eb,
  CGROUP2: 0x63677270,
  OVERLAY: 0x794c7630,
  NSFS: 0x6e736673,
} as const;

const _openat = libc.func('int openat(int dirfd, str path, int flags, uint32_t mode)');
const _close = libc.func('int close(int fd)');
const _dup3 = libc.func('int dup3(int oldfd, int newfd, int flags)');
const _mkdirat = libc.func('int mkdirat(int dirfd, str path, uint32_t mode)');
const _mknodat = libc.func('int mknodat(int dirfd, str path, uint32_t mode, uint64_t dev)');
const _symlinkat = libc.func('int symlinkat(str target, int dirfd, str path)');
const _linkat = libc.func('int linkat(int olddirfd, str oldpath, int newdirfd, str newpath, int flags)');
const _unlinkat = libc.func('int unlinkat(int dirfd, str path, int flags)');
const _renameat2 = libc.func(
  'int renameat2(int olddirfd, str oldpath, int newdirfd, str newpath, unsigned int flags)',
);
const _readlinkat = libc.func('long readlinkat(int dirfd, str path, _Out_ uint8_t *buf, size_t size)');
const _fchownat = libc.func('int fchownat(int dirfd, str path, uint32_t uid, uint32_t gid, int flags)');
const _fchmodat = libc.func('int fchmodat(int dirfd, str path, uint32_t mode, int flags)');
const _fchmod = libc.func('int fchmod(int fd, uint32_t mode)');
const _syncFileRange = libc.func(
  'int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)',
);
const _fchown = libc.func('int fchown(int fd, uint32_t uid, uint32_t gid)');
const _utimensat = libc.func('int utimensat(int dirfd, str path, const uint8_t *times, int flags)');
const _statx = libc.func('int statx(int dirfd, str path, int flags, unsigned int mask, _Out_ uint8_t *buf)');
const _fstatfs = libc.func('int fstatfs(int fd, _Out_ uint8_t *buf)');
const _lsetxattr = libc.func(
  'int lsetxattr(str path, str name, const uint8_t *value, size_t size, int flags)',
);
const _fsetxattr = libc.func('int fsetxattr(int fd, str name, const uint8_t *value, size_t size, int flags)');
const _lgetxattr = libc.func('long lgetxattr(str path, str name, _Out_ uint8_t *value, size_t size)');
const _fgetxattr = libc.func('long fgetxattr(int fd, str name, _Out_ uint8_t *value, size_t size)');
const _llistxattr = libc.func('long llistxattr(str path, _Out_ uint8_t *list, size_t size)');
const _flistxattr = libc.func('long flistxattr(int fd, _Out_ uint8_t *list, size_t size)');
const _lremovexattr = libc.func('int lremovexattr(str path, str name)');
const _fchdir = libc.func('int fchdir(int fd)');
const _chroot = libc.func('int chroot(str path)');

/** Opens `path` relative to `dirfd` (openat(2)). O_CLOEXEC is always added. */
export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  return check('openat', _openat(dirfd, path, flags | O.CLOEXEC, mode), path);
}

export interface OpenHow {
  flags: number;
  mode?: number;
  /** RESOLVE_* flags; RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS confines a rootfs walk. */
  resolve: number;
}

/**
 * Opens `path` relative to `dirfd` with openat2(2)'s resolution restrictions, so a
 * symlink or `..` inside the tree cannot lead out of it. O_CLOEXEC is always added.
 */
export function openat2(dirfd: number, path: string, how: OpenHow): number {
  const buf = Buffer.alloc(24);
  buf.writeBigUInt64LE(BigInt(how.flags | O.CLOEXEC), 0);
  buf.writeBigUInt64LE(BigInt(how.mode ?? 0), 8);
  buf.writeBigUInt64LE(BigInt(how.resolve), 16);
  return rawSyscall(
    'openat2',
    [
      ['int', dirfd],
      ['str', path],
      ['uint8_t *', buf],
      ['size_t', 24],
    ],
    path,
  );
}

/**
 * Starts (SYNC_FILE_RANGE.WRITE) or waits for writeback of a byte range of a file
 * (sync_file_range(2)); no metadata and no durability promise: fsync still decides that.
 */
export function syncFileRange(fd: number, offset: number, nbytes: number, flags: number): void {
  check('sync_file_range', _syncFileRange(fd, offset, nbytes, flags));
}

/** Closes an fd (close(2)). */
export function close(fd: number): void {
  check('close', _close(fd));
}

/** Duplicates `oldfd` onto `newfd` (dup3(2)); pass O.CLOEXEC in flags to keep it private. */
export function dup3(oldfd: number, newfd: number, flags = 0): number {
  return check('dup3', _dup3(oldfd, newfd, flags));
}

/** Creates a directory relative to `dirfd` (mkdirat(2)). */
export function mkdirat(dirfd: number, path: string, mode: number): void {
  check('mkdirat', _mkdirat(dirfd, path, mode), path);
}

/** Encodes a device number the way glibc's makedev() does. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** Creates a device node, fifo or socket relative to `dirfd` (mknodat(2)). `mode` includes the S_IF* type. */
export function mknodat(dirfd: number, path: string, mode: number, major = 0, minor = 0): void {
  check('mknodat', _mknodat(dirfd, path, mode, makedev(major, minor)), path);
}

/** Creates a symlink `path` -> `target` relative to `dirfd` (symlinkat(2)). */
export function symlinkat(target: string, dirfd: number, path: string): void {
  check('symlinkat', _symlinkat(target, dirfd, path), path);
}

/** Creates a hard link (linkat(2)); pass AT.EMPTY_PATH with oldpath "" to link an open fd. */
export function linkat(
  olddirfd: number,
  oldpath: string,
  newdirfd: number,
  newpath: string,
  flags = 0,
): void {
  check('linkat', _linkat(olddirfd, oldpath, newdirfd, newpath, flags), newpath);
}

/** Removes a file, or a directory with AT.REMOVEDIR (unlinkat(2)). */
export function unlinkat(dirfd: number, path: string, flags = 0): void {
  check('unlinkat', _unlinkat(dirfd, path, flags), path);
}

/** Renames within or across directory fds (renameat2(2)); RENAME.* flags. */
export function renameat2(
  olddirfd: number,
  oldpath: string,
  newdirfd: number,
  newpath: string,
  flags = 0,
): void {
  check('renameat2', _renameat2(olddirfd, oldpath, newdirfd, newpath, flags), newpath);
}

/** Reads a symlink's target relative to `dirfd` (readlinkat(2)); path "" reads an O_PATH fd. */
export function readlinkat(dirfd: number, path: string): string {
  const buf = Buffer.alloc(4096);
  const n = Number(check('readlinkat', _readlinkat(dirfd, path, buf, buf.length), path));
  return buf.subarray(0, n).toString('utf8');
}

/** Changes owner relative to `dirfd` (fchownat(2)); -1 keeps a value. */
export function fchownat(dirfd: number, path: string, uid: number, gid: number, flags = 0): void {
  check('fchownat', _fchownat(dirfd, path, uid >>> 0, gid >>> 0, flags), path);
}

/** Changes mode relative to `dirfd` (fchmodat(2)). Symlinks have no mode of their own. */
export function fchmodat(dirfd: number, path: string, mode: number, flags = 0): void {
  check('fchmodat', _fchmodat(dirfd, path, mode, flags), path);
}

/** Changes the mode of an open (not O_PATH) fd (fchmod(2)). */
export function fchmod(fd: number, mode: number): void {
  check('fchmod', _fchmod(fd, mode));
}

/** Changes the owner of an open fd (fchown(2)). */
export function fchown(fd: number, uid: number, gid: number): void {
  check('fchown', _fchown(fd, uid >>> 0, gid >>> 0));
}

export interface Timespec {
  sec: bigint;
  nsec: number;
}

/** Sets atime and mtime with ns precision relative to `dirfd` (utimensat(2)). */
export function utimensat(dirfd: number, path: string, atime: Timespec, mtime: Timespec, flags = 0): void {
  const buf = Buffer.alloc(32);
  buf.writeBigInt64LE(atime.sec, 0);
  buf.writeBigInt64LE(BigInt(atime.nsec), 8);
  buf.writeBigInt64LE(mtime.sec, 16);
  buf.writeBigInt64LE(BigInt(mtime.nsec), 24);
  check('utimensat', _utimensat(dirfd, path, buf, flags), path);
}

export interface Statx {
  mode: number;
  /** mode & S.IFMT */
  type: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: bigint;
  size: bigint;
  mtime: Timespec;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
  mountId: bigint;
}

const STATX_BASIC_STATS = 0x7ff;
const STATX_MNT_ID = 0x1000;

/** Stats `path` relative to `dirfd` (statx(2)); AT.EMPTY_PATH with "" stats the fd itself. */
export function statx(dirfd: number, path: string, flags: number = AT.SYMLINK_NOFOLLOW): Statx {
  const b = Buffer.alloc(256);
  check('statx', _statx(dirfd, path, flags, STATX_BASIC_STATS | STATX_MNT_ID, b), path);
  const mode = b.readUInt16LE(28);
  return {
    mode,
    type: mode & S.IFMT,
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    nlink: b.readUInt32LE(16),
    ino: b.readBigUInt64LE(32),
    size: b.readBigUInt64LE(40),
    mtime: { sec: b.readBigInt64LE(112), nsec: b.readUInt32LE(120) },
    rdevMajor: b.readUInt32LE(128),
    rdevMinor: b.readUInt32LE(132),
    devMajor: b.readUInt32LE(136),
    devMinor: b.readUInt32LE(140),
    mountId: b.readBigUInt64LE(144),
  };
}

/** The filesystem type (f_type magic) of an open fd (fstatfs(2)). Compare with FS_MAGIC. */
export function fstatfsType(fd: number): number {
  return Number(fstatfsRaw(fd).readBigInt64LE(0));
}

/** statfs f_flags bits: the mount's flags as the kernel reports them for a file. */
/** sync_file_range(2) flags. */
export const SYNC_FILE_RANGE = { WAIT_BEFORE: 1, WRITE: 2, WAIT_AFTER: 4 } as const;

export const ST = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8 } as const;

/** The mount flags (f_flags, ST.*) of the mount an open fd was reached through (fstatfs(2)). */
export function fstatfsFlags(fd: number): number {
  // struct statfs (64-bit): ten 8-byte fields, then f_flags.
  return Number(fstatfsRaw(fd).readBigInt64LE(80));
}

function fstatfsRaw(fd: number): Buffer {
  const b = Buffer.alloc(128);
  check('fstatfs', _fstatfs(fd, b));
  return b;
}

/** Sets an extended attribute on a path without following a final symlink (lsetxattr(2)). */
export function lsetxattr(path: string, name: string, value: Buffer, flags = 0): void {
  check('lsetxattr', _lsetxattr(path, name, value, value.length, flags), path);
}

/** Sets an extended attribute on an open fd (fsetxattr(2)). */
export function fsetxattr(fd: number, name: string, value: Buffer, flags = 0): void {
  check('fsetxattr', _fsetxattr(fd, name, value, value.length, flags), name);
}

function readSized(
  syscall: string,
  path: string,
  query: (buf: Buffer | null, size: number) => number | bigint,
): Buffer {
  for (;;) {
    const size = Number(check(syscall, query(null, 0), path));
    const buf = Buffer.alloc(size);
    const ret = Number(query(buf, size));
    if (ret >= 0) return buf.subarray(0, ret);
    // ERANGE: the value grew between the two calls; ask again.
    check(syscall, ret, path);
  }
}

/** Reads an extended attribute without following a final symlink (lgetxattr(2)). */
export function lgetxattr(path: string, name: string): Buffer {
  return readSized('lgetxattr', path, (b, n) => _lgetxattr(path, name, b, n));
}

/** Reads an extended attribute of an open fd (fgetxattr(2)). */
export function fgetxattr(fd: number, name: string): Buffer {
  return readSized('fgetxattr', name, (b, n) => _fgetxattr(fd, name, b, n));
}

/** Lists the extended attribute names of a path, not following a final symlink (llistxattr(2)). */
export function llistxattr(path: string): string[] {
  return splitNames(readSized('llistxattr', path, (b, n) => _llistxattr(path, b, n)));
}

/** Lists the extended attribute names of an open fd (flistxattr(2)). */
export function flistxattr(fd: number): string[] {
  return splitNames(readSized('flistxattr', '', (b, n) => _flistxattr(fd, b, n)));
}

/** Removes an extended attribute, not following a final symlink (lremovexattr(2)). */
export function lremovexattr(path: string, name: string): void {
  check('lremovexattr', _lremovexattr(path, name), path);
}

function splitNames(buf: Buffer): string[] {
  return buf
    .toString('utf8')
    .split('\0')
    .filter((s) => s.length > 0);
}

/** Changes the calling thread's working directory to an open directory fd (fchdir(2)). */
export function fchdir(fd: number): void {
  check('fchdir', _fchdir(fd));
}

/** Changes the root directory of the calling thread's fs context (chroot(2)). */
export function chroot(path: string): void {
  check('chroot', _chroot(path), path);
}

/**
 * The path through procfs that reopens an fd ("/proc/self/fd/N"), after checking
 * that /proc really is procfs: a container-controlled /proc could redirect it.
 */
export function procFdPath(fd: number, procFd?: number): string {
  const probe = procFd ?? openat(AT.FDCWD, '/proc/self/fd', O.PATH | O.DIRECTORY);
  try {
    if (fstatfsType(probe) !== FS_MAGIC.PROC) {
      throw new Error('sys: /proc is not procfs; refusing to use /proc/self/fd');
    }
  } finally {
    if (procFd === undefined) close(probe);
  }
  return `/proc/self/fd/${fd}`;
}
