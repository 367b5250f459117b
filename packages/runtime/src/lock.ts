import { constants, fstatSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AT, CtrError, close, flock, LOCK, O, openat } from '@ctr/sys';
import { notExist } from './errors.ts';

/** A held container lock; release() is idempotent. */
export interface ContainerLock {
  release(): void;
}

/** How long a command waits for another command on the same container. */
const LOCK_WAIT_MS = 60_000;
// flock's "would block" (EWOULDBLOCK is the same number).
const EAGAIN = osConstants.errno.EAGAIN;

/**
 * Takes the exclusive lock of one container: flock(2) on its directory under --root.
 * Commands on the same container serialise; commands on different containers never
 * touch the same lock. The kernel drops the lock when the holder dies, so a command
 * killed with SIGKILL leaves nothing stale behind. The lock is polled with LOCK_NB
 * rather than waited for: a blocking flock would freeze the whole event loop, and two
 * operations on one container inside one process (the library API) would deadlock.
 */
export async function lockContainer(dir: string, id: string): Promise<ContainerLock> {
  let fd: number;
  try {
    fd = openat(AT.FDCWD, dir, constants.O_RDONLY | O.DIRECTORY | O.NOFOLLOW);
  } catch {
    throw notExist(id);
  }
  try {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
      try {
        flock(fd, LOCK.EX | LOCK.NB, dir);
        break;
      } catch (e) {
        if (!(e instanceof CtrError) || e.errno !== EAGAIN || Date.now() > deadline) {
          throw e instanceof CtrError && e.errno === EAGAIN
            ? new CtrError({
                stage: 'runtime',
                op: `lock container ${id}`,
                path: dir,
                hint: `another command has held it for ${LOCK_WAIT_MS / 1000} s; is one stuck? (lsof ${dir})`,
              })
            : e;
        }
        await sleep(wait);
      }
    }
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
