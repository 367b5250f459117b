// Parsing of the docker/podman-style values `ctr run` accepts. Pure; errors name the
// flag and the value so a user can correct it.
import { readFileSync } from 'node:fs';
import { CtrError, errnoValue } from '@ctr/sys';

const bad = (flag: string, value: string, hint: string) =>
  new CtrError({ stage: 'containers', op: `parse ${flag} ${JSON.stringify(value)}`, hint });

const units: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "512m", "1g", "1048576" → bytes (binary units, as docker and podman read them). */
export function parseSize(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(value.trim());
  if (!m) throw bad(flag, value, 'expected a size such as 512m, 1g or a number of bytes');
  const bytes = Math.floor(Number(m[1]) * units[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw bad(flag, value, 'the size must be positive');
  return bytes;
}

/** The CFS period docker uses for --cpus; quota = cpus × period. */
export const CPU_PERIOD_US = 100_000;

/** "1.5" → { quota: 150000, period: 100000 }. */
export function parseCpus(value: string): { quota: number; period: number } {
  const cpus = Number(value);
  if (!Number.isFinite(cpus) || cpus <= 0)
    throw bad('--cpus', value, 'expected a positive number such as 0.5 or 2');
  return { quota: Math.round(cpus * CPU_PERIOD_US), period: CPU_PERIOD_US };
}

export interface Volume {
  source: string;
  destination: string;
  readonly: boolean;
}

/** "SRC:DST[:ro|rw]" with absolute paths on both sides. */
export function parseVolume(value: string): Volume {
  const parts = value.split(':');
  if (parts.length < 2 || parts.length > 3) throw bad('--volume', value, 'expected SRC:DST or SRC:DST:ro');
  const [source, destination, mode = 'rw'] = parts as [string, string, string?];
  if (!source.startsWith('/') || !destination.startsWith('/')) {
    throw bad('--volume', value, 'both paths must be absolute (named volumes are not supported)');
  }
  if (mode !== 'ro' && mode !== 'rw') throw bad('--volume', value, 'the mode must be ro or rw');
  return { source, destination, readonly: mode === 'ro' };
}

/**
 * An env file as docker reads it: KEY=value lines, `#` comments and blank lines
 * ignored, a bare KEY taken from `lookup` (the caller's environment) or dropped.
 */
export function parseEnvFile(text: string, lookup: (key: string) => string | undefined): string[] {
  const env: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq === 0) throw bad('--env-file', raw, 'a line starts with "=": the variable has no name');
    if (eq > 0) {
      env.push(line);
      continue;
    }
    const value = lookup(line.trim());
    if (value !== undefined) env.push(`${line.trim()}=${value}`);
  }
  return env;
}

const errnoOf = (e: unknown): number | undefined => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === undefined ? undefined : errnoValue(code);
};

/** Reads and parses an --env-file; an unreadable file is named with the flag. */
export function readEnvFile(path: string, lookup: (key: string) => string | undefined): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CtrError({
      stage: 'containers',
      op: 'read --env-file',
      path,
      errno: errnoOf(e),
      hint: 'the env file must be a readable file of KEY=value lines',
      cause: e,
    });
  }
  return parseEnvFile(text, lookup);
}

/** "-e KEY=value" or "-e KEY" (taken from the caller's environment when set). */
export function parseEnvFlag(value: string, lookup: (key: string) => string | undefined): string | undefined {
  if (value.includes('=')) {
    if (value.startsWith('=')) throw bad('--env', value, 'the variable has no name');
    return value;
  }
  const v = lookup(value);
  return v === undefined ? undefined : `${value}=${v}`;
}

/** "CAP_NET_ADMIN", "net_admin" or "ALL" → "CAP_NET_ADMIN" / "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  if (!/^(CAP_)?[A-Z_]+$/.test(upper)) throw bad('--cap-add/--cap-drop', name, 'expected a capability name');
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}
