import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Writes a pid file atomically (tmp + rename), as runc does, so a reader never sees it half written. */
export function writePidFile(path: string, pid: number): void {
  const tmp = join(dirname(path), `.${process.pid}.pid`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, path);
}
