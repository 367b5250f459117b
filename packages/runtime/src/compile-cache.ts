// The compile cache directory this process's Node was given, for the Node threads and
// processes ctr starts (they do not share the cache their process enabled; an
// environment variable hands it on). This module imports only Node: the launching
// Worker's starter uses it before the rest of ctr is loaded.
import { getCompileCacheDir } from 'node:module';
import { dirname } from 'node:path';

/**
 * `{ NODE_COMPILE_CACHE }` naming the directory this process enabled its compile cache
 * in, or nothing when it has none. getCompileCacheDir() names the per-Node-version
 * subdirectory Node adds below the directory it was given: the parent is handed on.
 */
export function compileCacheEnv(): { NODE_COMPILE_CACHE: string } | Record<string, never> {
  const dir = getCompileCacheDir();
  return dir ? { NODE_COMPILE_CACHE: dirname(dir) } : {};
}
