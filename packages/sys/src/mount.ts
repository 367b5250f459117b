// Mounts: the classic mount(2) family and the fd-based mount API (Linux 5.2+/5.12+).
// The rootfs stage prefers the fd-based calls: a mount is built detached, given its
// attributes, and attached to an O_PATH fd resolved inside the container's root, so a
// path swapped for a symlink after resolution cannot redirect it (runc CVE-2021-30465).
import { check, libc, rawSyscall } from './libc.ts';

/** mount(2) flags. */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** umount2(2) flags. */
export const MNT = { FORCE: 1, DETACH: 2, EXPIRE: 4, UMOUNT_NOFOLLOW: 8 } as const;

/** open_tree(2) flags (with AT.RECURSIVE, AT.EMPTY_PATH, AT.SYMLINK_NOFOLLOW). */
export const OPEN_TREE = { CLONE: 1, CLOEXEC: 0o2000000 } as const;

/** move_mount(2) flags. */
export const MOVE_MOUNT = {
  F_SYMLINKS: 0x1,
  F_AUTOMOUNTS: 0x2,
  F_EMPTY_PATH: 0x4,
  T_SYMLINKS: 0x10,
  T_AUTOMOUNTS: 0x20,
  T_EMPTY_PATH: 0x40,
  SET_GROUP: 0x100,
  BENEATH: 0x200,
} as const;

/** fsconfig(2) commands. */
export const FSCONFIG = {
  SET_FLAG: 0,
  SET_STRING: 1,
  SET_BINARY: 2,
  SET_PATH: 3,
  SET_PATH_EMPTY: 4,
  SET_FD: 5,
  CMD_CREATE: 6,
  CMD_RECONFIGURE: 7,
} as const;

/** fspick(2) flags. */
export const FSPICK = { CLOEXEC: 1, SYMLINK_NOFOLLOW: 2, NO_AUTOMOUNT: 4, EMPTY_PATH: 8 } as const;

/** Mount attributes of fsmount(2) and mount_setattr(2). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** The mask of the three atime modes below; clear it to change the mode. */
  _ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

const _mount = libc.func(
  'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
);
const _umount2 = libc.func('int umount2(const char *target, int flags)');

/** Attaches a filesystem, or changes a mount (mount(2)). `null` passes NULL. */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null = null,
): void {
  check('mount', _mount(source, target, fstype, flags, data), target);
}

/** Detaches a mount (umount2(2)); MNT.DETACH for a lazy unmount. */
export function umount2(target: string, flags = 0): void {
  check('umount2', _umount2(target, flags), target);
}

/**
 * Makes `newRoot` the root mount of the calling thread's mount namespace and moves the
 * old root to `putOld` (pivot_root(2)); pivot_root(".", ".") stacks the old root on
 * the new one so it can be detached without a directory for it.
 */
export function pivotRoot(newRoot: string, putOld: string): void {
  rawSyscall(
    'pivot_root',
    [
      ['str', newRoot],
      ['str', putOld],
    ],
    newRoot,
    'new_root must be a mount point whose parent mount is not shared, in a mount namespace the caller owns',
  );
}

/** Opens a mount (or with OPEN_TREE.CLONE a detached copy of it) as an fd (open_tree(2)). */
export function openTree(dirfd: number, path: string, flags: number): number {
  return rawSyscall(
    'open_tree',
    [
      ['int', dirfd],
      ['str', path],
      ['unsigned int', flags | OPEN_TREE.CLOEXEC],
    ],
    path,
  );
}

/** Attaches or moves a mount between fds/paths (move_mount(2)); MOVE_MOUNT.*_EMPTY_PATH for fds. */
export function moveMount(
  fromDirfd: number,
  fromPath: string,
  toDirfd: number,
  toPath: string,
  flags: number,
): void {
  rawSyscall(
    'move_mount',
    [
      ['int', fromDirfd],
      ['str', fromPath],
      ['int', toDirfd],
      ['str', toPath],
      ['unsigned int', flags],
    ],
    toPath,
  );
}

/** Starts building a filesystem instance of type `fsname` (fsopen(2)); the fd is close-on-exec. */
export function fsopen(fsname: string): number {
  return rawSyscall(
    'fsopen',
    [
      ['str', fsname],
      ['unsigned int', 1 /* FSOPEN_CLOEXEC */],
    ],
    fsname,
  );
}

/** Sets a parameter of, or creates/reconfigures, a filesystem context (fsconfig(2)). */
export function fsconfig(
  fsfd: number,
  cmd: number,
  key: string | null = null,
  value: string | null = null,
  aux = 0,
): void {
  rawSyscall(
    'fsconfig',
    [
      ['int', fsfd],
      ['unsigned int', cmd],
      ['const char *', key],
      ['const char *', value],
      ['int', aux],
    ],
    key ?? undefined,
    key ? `the filesystem rejected the option ${value === null ? key : `${key}=${value}`}` : undefined,
  );
}

/** Turns a created filesystem context into a detached mount fd with MOUNT_ATTR.* (fsmount(2)). */
export function fsmount(fsfd: number, attrFlags: number): number {
  return rawSyscall('fsmount', [
    ['int', fsfd],
    ['unsigned int', 1 /* FSMOUNT_CLOEXEC */],
    ['unsigned int', attrFlags],
  ]);
}

/** Opens the filesystem context of an existing mount for reconfiguration (fspick(2)). */
export function fspick(dirfd: number, path: string, flags: number): number {
  return rawSyscall(
    'fspick',
    [
      ['int', dirfd],
      ['str', path],
      ['unsigned int', flags | FSPICK.CLOEXEC],
    ],
    path,
  );
}

export interface MountAttr {
  /** MOUNT_ATTR.* to set. */
  attrSet?: number;
  /** MOUNT_ATTR.* to clear (include MOUNT_ATTR._ATIME when setting an atime mode). */
  attrClr?: number;
  /** One of MS.PRIVATE, MS.SLAVE, MS.SHARED, MS.UNBINDABLE, or 0 to keep it. */
  propagation?: number;
  /** A user namespace fd, with MOUNT_ATTR.IDMAP. */
  usernsFd?: number;
}

/** Changes the attributes of a mount, or with AT.RECURSIVE of a mount tree (mount_setattr(2)). */
export function mountSetattr(dirfd: number, path: string, flags: number, attr: MountAttr): void {
  const b = Buffer.alloc(32);
  b.writeBigUInt64LE(BigInt(attr.attrSet ?? 0), 0);
  b.writeBigUInt64LE(BigInt(attr.attrClr ?? 0), 8);
  b.writeBigUInt64LE(BigInt(attr.propagation ?? 0), 16);
  b.writeBigUInt64LE(BigInt(attr.usernsFd ?? 0), 24);
  rawSyscall(
    'mount_setattr',
    [
      ['int', dirfd],
      ['str', path],
      ['unsigned int', flags],
      ['uint8_t *', b],
      ['size_t', 32],
    ],
    path,
  );
}
