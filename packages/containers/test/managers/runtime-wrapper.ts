import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { shellQuote } from './tools.ts';

const REPO = resolve(import.meta.dirname, '../../../..');
const BIN = join(REPO, 'packages/cli/src/bin.ts');

export interface RuntimeWrapper {
  /** The executable to hand to podman (--runtime) or containerd's shim (BinaryName). */
  path: string;
  /** Every command line the manager ran, one string per call, in order. */
  calls(): string[];
}

/**
 * Writes the ctr a manager runs: a shell script that records its argv and execs Node
 * on the CLI's sources (the "source" export condition, as the tests use), so the
 * managers drive the code under test and never a stale dist/. `exec` keeps the pid:
 * conmon and the shim wait for the runtime process they started.
 */
export function writeRuntimeWrapper(dir: string): RuntimeWrapper {
  const path = join(dir, 'ctr-runtime');
  const log = join(dir, 'ctr-argv.log');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >> ${shellQuote(log)}`,
      `exec ${shellQuote(process.execPath)} --conditions=source -- ${shellQuote(BIN)} "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return {
    path,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}
