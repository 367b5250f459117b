import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where ctr keeps Node's compile cache, or undefined when that directory is not safe
 * to load code from. Not Node's default under /tmp: V8 deserialises those files into
 * a process that often runs as root, so the directory must belong to the caller and
 * be writable by nobody else.
 */
export function compileCacheDir(): string | undefined {
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  const dir =
    uid === 0
      ? '/var/cache/ctr/node-compile-cache'
      : join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ctr', 'node-compile-cache');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0 ? dir : undefined;
  } catch {
    // A read-only or missing home: run without the cache.
    return undefined;
  }
}
