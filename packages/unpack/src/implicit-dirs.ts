import { fstatSync, type Stats } from 'node:fs';
import { AT, close, fchmodat, fchownat, O, openat, openat2, RESOLVE } from '@ctr/sys';
import { errCode } from './errors.ts';

const STRICT = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;

/**
 * Gives a snapshot's implicit parent directories the owner and mode the same path
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
  const lowerFds = lowers.map((l) => openat(AT.FDCWD, l, O.PATH | O.DIRECTORY));
  const root = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
  try {
    for (const path of implicit) {
      const st = lowerDir(lowerFds, path);
      if (!st) continue;
      const slash = path.lastIndexOf('/');
      const parent =
        slash === -1
          ? root
          : openat2(root, path.slice(0, slash), { flags: O.PATH | O.DIRECTORY, resolve: STRICT });
      try {
        const base = path.slice(slash + 1);
        fchownat(parent, base, st.uid, st.gid, AT.SYMLINK_NOFOLLOW);
        fchmodat(parent, base, st.mode & 0o7777);
      } finally {
        if (parent !== root) close(parent);
      }
    }
  } finally {
    close(root);
    for (const fd of lowerFds) close(fd);
  }
}

function lowerDir(lowerFds: number[], path: string): Stats | undefined {
  for (const fd of lowerFds) {
    let st: Stats;
    try {
      const f = openat2(fd, path, { flags: O.PATH | O.NOFOLLOW, resolve: STRICT });
      try {
        // fstat works on O_PATH fds; the fd is the entry itself, never a symlink target.
        st = fstatSync(f);
      } finally {
        close(f);
      }
    } catch (e) {
      if (errCode(e) === 'ENOENT') continue;
      return undefined;
    }
    return st.isDirectory() ? st : undefined;
  }
  return undefined;
}
