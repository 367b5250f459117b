// What an overlay snapshot needs from the layers below it once they are on disk:
// attributes for its implicit directories, and the files its hardlinks name.
import { type BigIntStats, fstatSync, readSync, writeSync } from 'node:fs';
import {
  AT,
  close,
  fchmod,
  fchmodat,
  fchown,
  fchownat,
  fgetxattr,
  flistxattr,
  fsetxattr,
  O,
  openat,
  openat2,
  RESOLVE,
  readlinkat,
  symlinkat,
  type Timespec,
  utimensat,
} from '@ctr/sys';
import { errCode, unpackError } from './errors.ts';

const STRICT = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;

/**
 * Gives a snapshot's implicit parent directories the owner, mode and mtime the same path
 * has in the layers below. In a flat unpack such a parent already exists; in an
 * overlay snapshot it is created empty, and overlayfs shows the upper directory's
 * attributes, so without this a layer adding /home/user/.profile would turn
 * /home/user into a root-owned 0755 directory.
 *
 * `lowers` are snapshot directories, highest first. Overlay merges directories
 * only, never through symlinks, so lookups refuse symlinks and stop at the first
 * layer that has anything at the path.
 */
export function inheritImplicitDirs(
  dir: string,
  implicit: readonly string[],
  lowers: readonly string[],
): void {
  if (implicit.length === 0 || lowers.length === 0) return;
  withLowers(dir, lowers, (root, lowerFds) => {
    for (const path of implicit) {
      const st = findLower(lowerFds, path)?.st;
      if (!st?.isDirectory()) continue;
      inParent(root, path, (parent, base) => {
        fchownat(parent, base, Number(st.uid), Number(st.gid), AT.SYMLINK_NOFOLLOW);
        fchmodat(parent, base, Number(st.mode) & 0o7777);
        const mtime = timespec(st);
        utimensat(parent, base, mtime, mtime, AT.SYMLINK_NOFOLLOW);
      });
    }
  });
}

/** A hardlink whose target is in a lower layer (overlay snapshots only). */
export interface LowerLink {
  path: string;
  target: string;
}

/**
 * Gives each hardlink to a lower layer's file its own copy in the snapshot: a link
 * cannot cross snapshot directories, and overlayfs would copy the file up on link(2)
 * anyway. The visible tree matches a flat unpack (same content, owner, mode, mtime and
 * xattrs), only without the shared inode. A path that a later entry of the same
 * layer took is left alone.
 */
export function copyLowerLinks(dir: string, links: readonly LowerLink[], lowers: readonly string[]): void {
  if (links.length === 0) return;
  withLowers(dir, lowers, (root, lowerFds) => {
    for (const { path, target } of links) {
      const found = findLower(lowerFds, target);
      if (!found || !(found.st.isFile() || found.st.isSymbolicLink())) {
        throw unpackError(
          'apply hardlink',
          path,
          `hardlink target "${target}" is not a file or symlink in this layer or the layers below`,
        );
      }
      inParent(root, path, (parent, base) => {
        // The layer already set its directories' mtimes; adding the copy must not move them.
        const dirTime = timespec(fstatSync(parent, { bigint: true }));
        copyEntry(found.layer, target, found.st, parent, base);
        utimensat(parent, '', dirTime, dirTime, AT.EMPTY_PATH);
      });
    }
  });
}

function copyEntry(layer: number, target: string, st: BigIntStats, parent: number, base: string): void {
  inParent(layer, target, (srcParent, srcBase) => {
    const mtime = timespec(st);
    if (st.isSymbolicLink()) {
      if (!make(() => symlinkat(readlinkat(srcParent, srcBase), parent, base))) return;
      fchownat(parent, base, Number(st.uid), Number(st.gid), AT.SYMLINK_NOFOLLOW);
      utimensat(parent, base, mtime, mtime, AT.SYMLINK_NOFOLLOW);
      return;
    }
    const src = openat2(srcParent, srcBase, { flags: O.RDONLY | O.NOFOLLOW, resolve: STRICT });
    try {
      let dst = -1;
      if (!make(() => (dst = openat(parent, base, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o600)))) return;
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        for (let n = readSync(src, buf); n > 0; n = readSync(src, buf)) {
          for (let off = 0; off < n; ) off += writeSync(dst, buf, off, n - off);
        }
        fchown(dst, Number(st.uid), Number(st.gid));
        fchmod(dst, Number(st.mode) & 0o7777);
        for (const name of flistxattr(src)) fsetxattr(dst, name, fgetxattr(src, name));
        utimensat(parent, base, mtime, mtime, AT.SYMLINK_NOFOLLOW);
      } finally {
        close(dst);
      }
    } finally {
      close(src);
    }
  });
}

/** Runs `fn` with the directory holding `path` (resolved inside `root`) and its last name. */
function inParent(root: number, path: string, fn: (parent: number, base: string) => void): void {
  const slash = path.lastIndexOf('/');
  const parent =
    slash === -1
      ? root
      : openat2(root, path.slice(0, slash), { flags: O.PATH | O.DIRECTORY, resolve: STRICT });
  try {
    fn(parent, path.slice(slash + 1));
  } finally {
    if (parent !== root) close(parent);
  }
}

function timespec(st: BigIntStats): Timespec {
  return { sec: st.mtimeNs / 1_000_000_000n, nsec: Number(st.mtimeNs % 1_000_000_000n) };
}

/** Runs `make`; false when the name is already taken (a later entry of the layer won). */
function make(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (errCode(e) === 'EEXIST') return false;
    throw e;
  }
}

function withLowers(
  dir: string,
  lowers: readonly string[],
  fn: (root: number, lowerFds: number[]) => void,
): void {
  const lowerFds: number[] = [];
  const root = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
  try {
    for (const l of lowers) lowerFds.push(openat(AT.FDCWD, l, O.PATH | O.DIRECTORY));
    fn(root, lowerFds);
  } finally {
    close(root);
    for (const fd of lowerFds) close(fd);
  }
}

/**
 * The first lower layer (highest first) with anything at `path`, and what it is.
 * Overlay merges directories only, never through symlinks, so lookups refuse
 * symlinks on the way and stop at the first layer that has the name.
 */
function findLower(lowerFds: number[], path: string): { layer: number; st: BigIntStats } | undefined {
  for (const layer of lowerFds) {
    let st: BigIntStats;
    try {
      const f = openat2(layer, path, { flags: O.PATH | O.NOFOLLOW, resolve: STRICT });
      try {
        // fstat works on O_PATH fds; the fd is the entry itself, never a symlink target.
        st = fstatSync(f, { bigint: true });
      } finally {
        close(f);
      }
    } catch (e) {
      if (errCode(e) === 'ENOENT') continue;
      return undefined;
    }
    return { layer, st };
  }
  return undefined;
}
