// Every path inside the container's root is resolved here, through fds, never as a
// string joined onto the host path: the rootfs belongs to the container and may hold
// symlinks to host paths or be changed while we work (runc CVE-2021-30465).
import { CtrError, close, mkdirat, O, openat, openat2, RESOLVE, SysError } from '@ctr/sys';

const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;

const rel = (path: string) => path.replace(/^\/+/, '') || '.';

/**
 * Opens a path inside the root (O_PATH unless `flags` say otherwise). Symlinks and ".."
 * are resolved as if the root were "/": they can never lead out of it.
 */
export function openInRoot(rootfd: number, path: string, flags: number = O.PATH, resolve = IN_ROOT): number {
  return openat2(rootfd, rel(path), { flags, resolve });
}

const isErrno = (e: unknown, code: string) => e instanceof SysError && e.code === code;

/**
 * Opens a path inside the root, creating what is missing (directories, and the last
 * component as `kind`), each relative to its verified parent fd. Returns an O_PATH fd
 * of the path: mount on that fd, not on the string.
 */
export function createInRoot(rootfd: number, path: string, kind: 'dir' | 'file'): number {
  const parts = rel(path)
    .split('/')
    .filter((p) => p !== '.' && p !== '');
  if (parts.length === 0) return openInRoot(rootfd, '/');
  return openOrCreate(rootfd, parts, kind, path);
}

/**
 * The path itself when it is there (most mount destinations are: one lookup), else
 * its parent, opened or created the same way, with the last component made in it.
 * `path` is what the caller asked for, for the error.
 */
function openOrCreate(rootfd: number, parts: string[], kind: 'dir' | 'file', path: string): number {
  const sub = parts.join('/');
  try {
    return openInRoot(rootfd, sub);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  const name = parts[parts.length - 1]!;
  const parent =
    parts.length === 1
      ? openInRoot(rootfd, '/', O.PATH | O.DIRECTORY)
      : openOrCreate(rootfd, parts.slice(0, -1), 'dir', path);
  try {
    if (kind === 'file') {
      try {
        close(openat(parent, name, O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW, 0o644));
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
      }
    } else {
      try {
        mkdirat(parent, name, 0o755);
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
      }
    }
  } finally {
    close(parent);
  }
  try {
    return openInRoot(rootfd, sub);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    throw new CtrError({
      stage: 'rootfs',
      op: `create ${path} in the root`,
      path: `/${sub}`,
      errno: 2,
      hint: 'a component is a symlink whose target does not exist; fix the image or the mount destination',
    });
  }
}
