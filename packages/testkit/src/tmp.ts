import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the system temp dir; remove it with `removeTmp`. */
export function makeTmp(prefix = 'ctr-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a directory tree, ignoring a missing one. */
export function removeTmp(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
