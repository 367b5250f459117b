import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Why a test cannot run on this machine, or undefined when it can. */
export type Missing = string | undefined;

export const isRoot = (): boolean => process.getuid?.() === 0;

/** undefined when `cmd` is on PATH, else the reason to print. */
export function needsCommand(cmd: string, debianPackage = cmd): Missing {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${cmd} is not installed (Debian package ${debianPackage})`;
  }
}

export function needsRoot(): Missing {
  return isRoot() ? undefined : 'needs root (run the tests as root, as CI does)';
}

export function needsPath(path: string, what: string): Missing {
  return existsSync(path) ? undefined : `${what} (${path}) is not present on this host`;
}

/**
 * Returns true when every requirement is met. Otherwise prints why the tests that
 * depend on it are skipped (never a silent skip) and returns false; use with
 * `describe.skipIf(!runnable(...))` or `it.runIf(runnable(...))`.
 */
export function runnable(what: string, ...requirements: Missing[]): boolean {
  const missing = requirements.filter((r): r is string => r !== undefined);
  if (missing.length === 0) return true;
  console.warn(`SKIP ${what}: ${missing.join('; ')}`);
  return false;
}
