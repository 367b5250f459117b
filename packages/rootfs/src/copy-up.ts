// tmpcopyup, the runc/crun mount extension behind podman's --read-only and --tmpfs: a
// new tmpfs starts with a copy of what the image had at its destination. The source
// is the container's tree, so it is hostile: it is read only through directory fds,
// one name at a time, never following a symlink (symlinks are copied as symlinks);
// regular files are checked to be regular files after they are opened; the walk
// stays on the mount it starts on, and a source on a kernel pseudo-filesystem is
// refused, so a symlinked destination cannot smuggle a copy of /proc or /sys past the
// masked paths applied later.
import { readdirSync, readSync, writeSync } from 'node:fs';
import {
  AT,
  CtrError,
  close,
  FS_MAGIC,
  fchmod,
  fchmodat,
  fchown,
  fchownat,
  fstatfsType,
  lgetxattr,
  linkat,
  llistxattr,
  lsetxattr,
  mkdirat,
  mknodat,
  O,
  openat,
  procFdPath,
  readlinkat,
  S,
  type Statx,
  SysError,
  statx,
  symlinkat,
  utimensat,
} from '@ctr/sys';

/** Which attributes of the source directory the tmpfs root takes (not those its options set). */
export interface CopyUpRoot {
  mode: boolean;
  uid: boolean;
  gid: boolean;
}

// f_type of filesystems whose files are views of the kernel, not data (statfs(2)).
const PSEUDO_FS = new Map<number, string>([
  [FS_MAGIC.PROC, 'proc'],
  [FS_MAGIC.SYSFS, 'sysfs'],
  [FS_MAGIC.CGROUP, 'cgroup'],
  [FS_MAGIC.CGROUP2, 'cgroup2'],
  [FS_MAGIC.DEVPTS, 'devpts'],
  [FS_MAGIC.NSFS, 'nsfs'],
  [0x73636673, 'securityfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x6165676c, 'pstore'],
  [0xf97cff8c, 'selinuxfs'],
  [0x19800202, 'mqueue'],
  [0x42494e4d, 'binfmt_misc'],
]);

const UTIME_OMIT = { sec: 0n, nsec: 0x3ffffffe };
const CHUNK = 128 * 1024;

interface Walk {
  /** For error messages: the destination inside the container. */
  destination: string;
  procFd: number;
  /** The tmpfs root, for hard links to files already copied. */
  target: number;
  mountId: bigint;
  /** dev:ino of multiply linked source files → their path in the tmpfs. */
  links: Map<string, string>;
  buf: Buffer;
}

/**
 * Copies the contents of the directory `source` (an fd inside the container's root)
 * into the directory `target` (the root of a detached tmpfs), keeping types, modes,
 * owners, mtimes, hard links and extended attributes where the tmpfs takes them.
 */
export function copyUp(destination: string, source: number, target: number, root: CopyUpRoot): void {
  const refuse = (hint: string) =>
    new CtrError({ stage: 'rootfs', op: `copy ${destination} into its tmpfs (tmpcopyup)`, hint });
  const pseudo = PSEUDO_FS.get(fstatfsType(source));
  if (pseudo !== undefined) {
    throw refuse(
      `the destination resolves to a ${pseudo} filesystem inside the root; tmpcopyup copies image content only (is the destination a symlink in the image?)`,
    );
  }
  const st = statx(source, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW);
  if (st.type !== S.IFDIR) throw refuse('the destination is not a directory in the image');
  const procFd = openat(AT.FDCWD, '/proc/self/fd', O.PATH | O.DIRECTORY);
  try {
    const w: Walk = {
      destination: destination === '/' ? '' : destination,
      procFd,
      target,
      mountId: st.mountId,
      links: new Map(),
      buf: Buffer.allocUnsafe(CHUNK),
    };
    copyDir(w, source, target, '');
    copyRoot(w, st, source, target, root);
  } finally {
    close(procFd);
  }
}

function copyRoot(w: Walk, st: Statx, source: number, target: number, root: CopyUpRoot): void {
  // fchown/fchmod need an fd opened for real, not the O_PATH one of the tmpfs.
  const to = openat(target, '.', O.RDONLY | O.DIRECTORY);
  try {
    if (root.uid || root.gid) fchown(to, root.uid ? st.uid : -1, root.gid ? st.gid : -1);
    // After chown, which clears the set-id bits; /tmp keeps its sticky 1777.
    if (root.mode) fchmod(to, st.mode & 0o7777);
  } finally {
    close(to);
  }
  copyXattrs(`${procFdPath(source, w.procFd)}/.`, `${procFdPath(target, w.procFd)}/.`);
}

/** node:fs calls throw Node errors; ctr's carry the syscall, errno and path. */
function io<T>(w: Walk, syscall: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).errno;
    if (errno === undefined) throw e;
    throw new SysError(syscall, -errno, `${w.destination}/${path}`);
  }
}

function copyDir(w: Walk, src: number, dst: number, rel: string): void {
  for (const name of io(w, 'getdents64', rel, () => readdirSync(procFdPath(src, w.procFd)))) {
    const st = statx(src, name, AT.SYMLINK_NOFOLLOW);
    const path = rel ? `${rel}/${name}` : name;
    if (st.mountId !== w.mountId) {
      // Another mount below the destination (`cp -x`): the tmpfs hides it anyway, and
      // following it could copy what the config mounted there for other purposes.
      if (st.type === S.IFDIR) {
        mkdirat(dst, name, 0o700);
        setMetadata(w, src, dst, name, st);
      }
      continue;
    }
    switch (st.type) {
      case S.IFDIR:
        copySubdir(w, src, dst, name, path);
        break;
      case S.IFREG:
        copyFile(w, src, dst, name, path, st);
        break;
      case S.IFLNK:
        symlinkat(readlinkat(src, name), dst, name);
        setMetadata(w, src, dst, name, st);
        break;
      default:
        // Devices, fifos and sockets: the node, not its contents.
        mknodat(dst, name, st.type | 0o600, st.rdevMajor, st.rdevMinor);
        setMetadata(w, src, dst, name, st);
    }
  }
}

function copySubdir(w: Walk, src: number, dst: number, name: string, path: string): void {
  const from = openat(src, name, O.PATH | O.DIRECTORY | O.NOFOLLOW);
  try {
    const st = statx(from, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW);
    mkdirat(dst, name, 0o700);
    if (st.mountId === w.mountId) {
      const to = openat(dst, name, O.PATH | O.DIRECTORY | O.NOFOLLOW);
      try {
        copyDir(w, from, to, path);
      } finally {
        close(to);
      }
    }
    // Last, so the copied entries do not change the directory's mtime again.
    setMetadata(w, src, dst, name, st);
  } finally {
    close(from);
  }
}

function copyFile(w: Walk, src: number, dst: number, name: string, path: string, st: Statx): void {
  const key = `${st.devMajor}:${st.devMinor}:${st.ino}`;
  const first = st.nlink > 1 ? w.links.get(key) : undefined;
  if (first !== undefined) {
    linkat(w.target, first, dst, name);
    return;
  }
  // O_NONBLOCK|O_NOCTTY: if the name was swapped for a fifo or a device after the stat,
  // opening it neither hangs nor takes a terminal; the type is checked on the fd.
  const from = openat(src, name, O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.NOCTTY);
  try {
    const opened = statx(from, '', AT.EMPTY_PATH);
    if (opened.type !== S.IFREG) {
      throw new CtrError({
        stage: 'rootfs',
        op: 'copy into the tmpfs (tmpcopyup)',
        path,
        hint: 'the file changed type while it was being copied',
      });
    }
    const to = openat(dst, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o600);
    try {
      for (;;) {
        const n = io(w, 'read', path, () => readSync(from, w.buf, 0, CHUNK, null));
        if (n === 0) break;
        for (let off = 0; off < n; ) off += io(w, 'write', path, () => writeSync(to, w.buf, off, n - off));
      }
    } finally {
      close(to);
    }
    setMetadata(w, src, dst, name, opened);
  } finally {
    close(from);
  }
  if (st.nlink > 1) w.links.set(key, path);
}

function setMetadata(w: Walk, src: number, dst: number, name: string, st: Statx): void {
  fchownat(dst, name, st.uid, st.gid, AT.SYMLINK_NOFOLLOW);
  // Symlinks have no mode of their own; the others get it after chown, which clears set-id bits.
  if (st.type !== S.IFLNK) fchmodat(dst, name, st.mode & 0o7777);
  // security.capability is dropped by chown, so extended attributes come after it.
  copyXattrs(`${procFdPath(src, w.procFd)}/${name}`, `${procFdPath(dst, w.procFd)}/${name}`);
  utimensat(dst, name, UTIME_OMIT, st.mtime, AT.SYMLINK_NOFOLLOW);
}

/** Paths through /proc/self/fd/<dir>/<name>: the final name is never followed (l*xattr). */
function copyXattrs(from: string, to: string): void {
  for (const attr of llistxattr(from)) {
    try {
      lsetxattr(to, attr, lgetxattr(from, attr));
    } catch (e) {
      // "Where possible": tmpfs takes security.*, trusted.* and user.* (since 6.6), but
      // not every namespace a source filesystem may carry, and trusted.* needs
      // CAP_SYS_ADMIN in the initial user namespace.
      if (!(e instanceof SysError && (e.code === 'EOPNOTSUPP' || e.code === 'ENOTSUP' || e.code === 'EPERM')))
        throw e;
    }
  }
}
