import { constants, fstatSync } from 'node:fs';
import { AT, close, flock, LOCK, O, openat } from '@ctr/sys';
import { notExist } from './errors.ts';

/** A held container lock; release() is idempotent. */
export interface ContainerLock {
  release(): void;
}

/**
 * Takes the exclusive lock of one container: flock(2) on its directory under --root.
 * Commands on the same container serialise; commands on different containers never
 * touch the same lock. The kernel drops the lock when the holder dies, so a command
 * killed with SIGKILL leaves nothing stale behind.
 */
export function lockContainer(dir: string, id: string): ContainerLock {
  let fd: number;
  try {
    fd = openat(AT.FDCWD, dir, constants.O_RDONLY | O.DIRECTORY | O.NOFOLLOW);
  } catch {
    throw notExist(id);
  }
  try {
    flock(fd, LOCK.EX, dir);
    // A delete that held the lock before us has removed the directory: what we now
    // hold is the lock of a container that no longer exists.
    if (fstatSync(fd).nlink === 0) throw notExist(id);
  } catch (e) {
    close(fd);
    throw e;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      close(fd);
    },
  };
}
