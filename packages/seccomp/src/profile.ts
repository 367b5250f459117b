import { readFileSync } from 'node:fs';
import { CtrError, stageError } from '@ctr/sys';
import type { LinuxSeccomp } from './types.ts';

/**
 * Parses a seccomp profile: a bare `linux.seccomp` object or a whole config.json.
 * Integers beyond 2^53 (uint64 argument values) are kept exact as bigint.
 */
export function parseSeccompProfile(text: string, source = 'profile'): LinuxSeccomp {
  let doc: unknown;
  try {
    doc = JSON.parse(text, (_key, value, context?: { source?: string }) =>
      typeof value === 'number' &&
      !Number.isSafeInteger(value) &&
      context?.source &&
      /^\d+$/.test(context.source)
        ? BigInt(context.source)
        : value,
    );
  } catch (cause) {
    throw stageError({ stage: 'seccomp', op: `parse ${source}`, hint: 'not valid JSON', cause });
  }
  const config = doc as { linux?: { seccomp?: unknown }; defaultAction?: unknown } | null;
  const profile = config && typeof config === 'object' && 'linux' in config ? config.linux?.seccomp : config;
  if (
    !profile ||
    typeof profile !== 'object' ||
    typeof (profile as { defaultAction?: unknown }).defaultAction !== 'string'
  ) {
    throw new CtrError({
      stage: 'seccomp',
      op: `read ${source}`,
      hint: 'expected a linux.seccomp object with a defaultAction, or a config.json that has one',
    });
  }
  const p = profile as LinuxSeccomp;
  if (p.syscalls !== undefined && !Array.isArray(p.syscalls)) {
    throw new CtrError({ stage: 'seccomp', op: `read ${source}`, hint: 'syscalls must be an array' });
  }
  p.syscalls?.forEach((s, i) => {
    if (!s || !Array.isArray(s.names) || typeof s.action !== 'string') {
      throw new CtrError({
        stage: 'seccomp',
        op: `read ${source}`,
        hint: `syscalls[${i}] needs names (an array) and an action`,
      });
    }
  });
  return p;
}

/** Reads a seccomp profile file (a bare `linux.seccomp` object or a config.json). */
export function readSeccompProfile(path: string): LinuxSeccomp {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw stageError({
      stage: 'seccomp',
      op: `read ${path}`,
      path,
      hint: 'cannot read the profile file',
      cause,
    });
  }
  return parseSeccompProfile(text, path);
}
