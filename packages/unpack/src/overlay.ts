import {
  AT,
  close,
  FSCONFIG,
  fsconfig,
  fsmount,
  fsopen,
  MNT,
  MOVE_MOUNT,
  moveMount,
  umount2,
} from '@ctr/sys';
import { errCode, unpackError } from './errors.ts';

/** An overlayfs container root: what was mounted where. */
export interface OverlayMount {
  target: string;
  /** Highest layer first, as overlayfs stacks them. */
  lowerdirs: string[];
  upperdir: string;
  workdir: string;
}

/** The classic mount(2) option string for the same mount (for logs and `mount -o`). */
export function overlayOptions(m: Omit<OverlayMount, 'target'>): string {
  for (const p of [...m.lowerdirs, m.upperdir, m.workdir]) {
    if (/[:,\\]/.test(p)) {
      throw unpackError('mount overlay', p, 'overlayfs option strings cannot hold ":", "," or "\\" in paths');
    }
  }
  return `lowerdir=${m.lowerdirs.join(':')},upperdir=${m.upperdir},workdir=${m.workdir}`;
}

/**
 * Mounts an overlay with the fd-based mount API, adding lower layers one by one with
 * "lowerdir+" (Linux 6.8): no page-size limit on the option string and no escaping
 * of ":" in paths, which is what bounds classic overlay mounts to a few dozen layers.
 * Older kernels get the classic single "lowerdir" string.
 */
export function mountOverlay(m: OverlayMount): void {
  let fs = -1;
  let mnt = -1;
  try {
    fs = fsopen('overlay');
    try {
      for (const dir of m.lowerdirs) fsconfig(fs, FSCONFIG.SET_STRING, 'lowerdir+', dir);
    } catch (e) {
      if (errCode(e) !== 'EINVAL' || m.lowerdirs.length === 0) throw e;
      close(fs);
      fs = fsopen('overlay');
      overlayOptions(m); // refuses paths the classic option string cannot carry
      fsconfig(fs, FSCONFIG.SET_STRING, 'lowerdir', m.lowerdirs.join(':'));
    }
    fsconfig(fs, FSCONFIG.SET_STRING, 'upperdir', m.upperdir);
    fsconfig(fs, FSCONFIG.SET_STRING, 'workdir', m.workdir);
    fsconfig(fs, FSCONFIG.CMD_CREATE);
    mnt = fsmount(fs, 0);
    moveMount(mnt, '', AT.FDCWD, m.target, MOVE_MOUNT.F_EMPTY_PATH);
  } catch (e) {
    throw unpackError(
      'mount overlay',
      m.target,
      'overlayfs needs root (CAP_SYS_ADMIN) and a filesystem for upper/work that supports trusted.* xattrs; use flat mode otherwise',
      e,
    );
  } finally {
    if (mnt !== -1) close(mnt);
    if (fs !== -1) close(fs);
  }
}

/** Unmounts a container root; a busy mount is detached lazily rather than left behind. */
export function unmountOverlay(target: string): void {
  try {
    umount2(target, MNT.UMOUNT_NOFOLLOW);
  } catch (e) {
    if (errCode(e) === 'EINVAL') return; // not mounted
    if (errCode(e) !== 'EBUSY') {
      throw unpackError('unmount overlay', target, 'the target is not a mount this process may remove', e);
    }
    umount2(target, MNT.DETACH | MNT.UMOUNT_NOFOLLOW);
  }
}
