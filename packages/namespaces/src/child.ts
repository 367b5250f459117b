import { closeSync, readSync } from 'node:fs';
import { CtrError } from '@ctr/sys';

/**
 * In a child launched into a new user namespace: blocks until the parent has written
 * the uid/gid maps (one byte on `fd`), then closes `fd`. Until then the child is the
 * unmapped overflow id and must not create files or change ids.
 */
export function waitForIdMaps(fd = 3): void {
  const b = Buffer.alloc(1);
  let n = 0;
  try {
    n = readSync(fd, b, 0, 1, null);
  } finally {
    closeSync(fd);
  }
  if (n !== 1) {
    throw new CtrError({
      stage: 'namespaces',
      op: 'wait for uid/gid maps',
      hint: 'the parent closed the sync pipe without writing the maps',
    });
  }
}
