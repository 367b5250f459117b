import { execFileSync } from 'node:child_process';
import { needsRoot, runnable } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { runningFromReadOnlyNode } from '../src/node-binary.ts';

const script = new URL('./fixtures/reexec.ts', import.meta.url).pathname;
const node = (...args: string[]) =>
  execFileSync(process.execPath, ['--conditions=source', '--', script, ...args], { encoding: 'utf8' });

describe.runIf(runnable('a read-only Node', needsRoot()))('running from a read-only clone of Node', () => {
  it('re-executes the same command from the clone, arguments and all', () => {
    // tools/setup binds its Node read-only; another Node may be writable.
    const mode = runningFromReadOnlyNode() ? 'ro' : 'rw';
    expect(node('stay', 'a b', '--env-file', 'x')).toBe(`${mode} a b --env-file x\n`);
    // The arguments after the script stay the script's: Node must not read --env-file.
    expect(node('reexec', 'a b', '--env-file', 'x')).toBe('ro a b --env-file x\n');
  });
});
