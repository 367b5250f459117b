import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseRuntimeConfig } from '@ctr/spec';
import { CtrError } from '@ctr/sys';

/** An OCI hook (runtime-spec config.md "POSIX-platform Hooks"). */
export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export type HookName =
  | 'prestart'
  | 'createRuntime'
  | 'createContainer'
  | 'startContainer'
  | 'poststart'
  | 'poststop';

/** The process section of config.json, as far as the runtime itself reads it. */
export interface ProcessConfig {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
  args?: string[];
  env?: string[];
  cwd: string;
  noNewPrivileges?: boolean;
  capabilities?: Record<string, string[] | undefined>;
}

/**
 * config.json as the runtime reads it. The stages read their own sections from the
 * same parsed object; the runtime only routes it.
 */
export interface BundleConfig {
  ociVersion: string;
  process?: ProcessConfig;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  hooks?: Partial<Record<HookName, Hook[]>>;
  annotations?: Record<string, string>;
  mounts?: unknown[];
  linux?: Record<string, unknown> & { namespaces?: { type: string; path?: string }[] };
}

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
  const config = parsed.value as unknown as BundleConfig;
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
