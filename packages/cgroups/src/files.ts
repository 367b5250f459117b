// Reading and writing cgroup files. Each write is one write(2) of the whole value:
// the kernel parses one value (or one device line) per write, so values must not
// be split or batched.
import { closeSync, constants, openSync, readdirSync, readFileSync, rmdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CtrError, errnoValue } from '@ctr/sys';

function errnoOf(e: unknown): number | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  return code ? errnoValue(code) : undefined;
}

export function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function hintFor(code: string | undefined, file: string): string | undefined {
  switch (code) {
    case 'ENOENT':
      if (file.startsWith('memory.memsw') || file.startsWith('memory.swap')) {
        return `the kernel offers no ${file}: swap accounting is off (boot with swapaccount=1, or drop memory.swap)`;
      }
      return `the kernel offers no ${file} here: its controller is not mounted or not enabled for this cgroup, or the kernel lacks the feature`;
    case 'EINVAL':
      return `the kernel rejected the value for ${file} (out of range, or inconsistent with a related limit)`;
    case 'ERANGE':
      return `the value for ${file} is out of range (a cpu or memory node this host does not have, or a number too large)`;
    case 'EBUSY':
      return `${file} cannot change now (memory in use above the new limit, or a cgroup with processes where none may be)`;
    case 'EACCES':
    case 'EPERM':
      return process.geteuid?.() === 0
        ? `${file} is not writable (a controller the parent does not delegate, or an LSM denies it)`
        : `ctr runs rootless and this cgroup is not delegated to uid ${process.geteuid?.()}: run under a delegated subtree (systemd-run --user --scope -p Delegate=yes ..., or chown the directory and its cgroup.procs, cgroup.subtree_control and cgroup.threads to you)`;
    case 'ENOSPC':
      return `${file}: the cgroup has no cpus or mems set (cpuset), or the pids/subtree limit is reached`;
    case 'EOPNOTSUPP':
      return `this kernel no longer supports ${file}`;
    default:
      return undefined;
  }
}

/** A CtrError naming the cgroup file, the value and the kernel's errno. */
export function fileError(op: string, path: string, e: unknown): CtrError {
  const file = path.slice(path.lastIndexOf('/') + 1);
  return new CtrError({
    stage: 'cgroups',
    op,
    path,
    errno: errnoOf(e),
    hint: hintFor(codeOf(e), file),
    cause: e,
  });
}

/** Writes `value` to a cgroup file in one write(2), without creating it. Throws the raw Node error. */
export function writeRaw(path: string, value: string): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

/** Writes a cgroup file; errors name the file and value. */
export function writeFile(dir: string, file: string, value: string): void {
  const path = join(dir, file);
  try {
    writeRaw(path, value);
  } catch (e) {
    throw fileError(`write "${value}" to ${file}`, path, e);
  }
}

export function readFile(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw fileError(`read ${file}`, path, e);
  }
}

/** Reads a file, or undefined when it does not exist (a controller this host lacks). */
export function readOptional(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch (e) {
    if (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENODEV' || codeOf(e) === 'EOPNOTSUPP') return undefined;
    throw fileError(`read ${file}`, join(dir, file), e);
  }
}

/** A number from a cgroup file; "max" and v1's near-2^63 "unlimited" become undefined. */
export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'max' || t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) && n < 2 ** 62 ? n : undefined;
}

export function parseNumber(text: string | undefined): number {
  const n = Number(text?.trim() ?? '');
  return Number.isFinite(n) ? n : 0;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) into a record. */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** Process (or thread) ids in a cgroup.procs/tasks file. */
export function readIds(dir: string, file: string): number[] {
  const text = readOptional(dir, file);
  if (text === undefined) return [];
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/** Child cgroup directories of `dir`, deepest first, `dir` last. */
export function cgroupTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (e) {
      if (codeOf(e) === 'ENOENT') return;
      throw fileError('list', d, e);
    }
    for (const ent of entries) if (ent.isDirectory()) walk(join(d, ent.name));
    out.push(d);
  };
  walk(dir);
  return out;
}

/** rmdir that treats "already gone" as success and reports EBUSY/ENOTEMPTY to the caller for a retry. */
export function removeDir(dir: string): 'removed' | 'busy' {
  try {
    rmdirSync(dir);
    return 'removed';
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOENT') return 'removed';
    if (code === 'EBUSY' || code === 'ENOTEMPTY') return 'busy';
    throw fileError('remove cgroup', dir, e);
  }
}
