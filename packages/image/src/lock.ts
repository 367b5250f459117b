import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoValue, flock, LOCK, SysError } from '@ctr/sys';
import { imageError } from './errors.ts';

const EWOULDBLOCK = errnoValue('EWOULDBLOCK') ?? 11;

/** A held flock(2) lock; `release` drops it by closing its fd. */
export interface Lock {
  release(): void;
}

/**
 * Takes a shared or exclusive flock on `path` (created if missing), waiting without
 * blocking the event loop. flock rather than a pid file: the kernel drops it when the
 * holder dies, so a killed pull never leaves the store locked. Lock files stay in
 * place: unlinking one while a waiter holds an fd to it would split the lock in two.
 */
export async function acquireLock(path: string, mode: 'shared' | 'exclusive'): Promise<Lock> {
  const fd = openSync(path, 'a', 0o600);
  const op = (mode === 'shared' ? LOCK.SH : LOCK.EX) | LOCK.NB;
  let wait = 5;
  for (;;) {
    try {
      flock(fd, op);
      break;
    } catch (e) {
      if (!(e instanceof SysError) || e.errno !== EWOULDBLOCK) {
        closeSync(fd);
        throw imageError(`lock ${path}`, undefined, undefined, e);
      }
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 100);
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}

/** Runs `fn` while holding the lock. */
export async function withLock<T>(
  path: string,
  mode: 'shared' | 'exclusive',
  fn: () => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(path, mode);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
