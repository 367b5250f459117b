import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { type Hook, type Hooks, type Process, parseRuntimeConfig, type RuntimeConfig } from '@ctr/spec';
import { CtrError } from '@ctr/sys';

/** config.json as @ctr/spec parses it; the stages read their own sections. */
export type BundleConfig = RuntimeConfig;
export type ProcessConfig = Process;
export type { Hook };

/** The hook points of runtime-spec config.md, in lifecycle order. */
export type HookName = keyof Hooks;

export interface Bundle {
  /** Absolute bundle directory. */
  dir: string;
  config: BundleConfig;
  /** Absolute host path of the root filesystem. */
  rootfs: string;
}

/**
 * Reads and validates `<bundle>/config.json`. An invalid configuration fails before
 * anything is created, and the error names the JSON path of every problem.
 */
export function loadBundle(bundleDir: string): Bundle {
  const dir = resolve(bundleDir);
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CtrError({
      stage: 'spec',
      op: 'read config.json',
      path,
      hint: 'the bundle directory must contain config.json (create one with `ctr spec`)',
      cause,
    });
  }
  const parsed = parseRuntimeConfig(text);
  if (!parsed.ok) {
    throw new CtrError({
      stage: 'spec',
      op: `invalid ${path}`,
      hint: parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    });
  }
  const config = parsed.value;
  if (!config.root?.path) {
    throw new CtrError({ stage: 'spec', op: `invalid ${path}`, hint: '$.root.path: required' });
  }
  if (!config.process) {
    throw new CtrError({
      stage: 'spec',
      op: `invalid ${path}`,
      hint: '$.process: required to create a container',
    });
  }
  const rootfs = isAbsolute(config.root.path) ? config.root.path : join(dir, config.root.path);
  return { dir, config, rootfs };
}
