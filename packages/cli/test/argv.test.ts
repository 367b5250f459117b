import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsPath, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../../..', import.meta.url).pathname;
const ctr = join(repo, '.tools/bin/ctr');
const tmp = makeTmp('ctr-argv-');
afterAll(() => removeTmp(tmp));

// Node scans a script's arguments for --env-file and loads the file, NODE_OPTIONS
// included, before the script runs: `ctr container run --env-file F` must not let F
// run code in ctr. The installed ctr runs `node -- bin.js`, after which Node leaves
// the arguments alone.
describe.runIf(
  runnable('the installed ctr command', needsPath(ctr, 'the ctr wrapper written by tools/setup')),
)('ctr argv', () => {
  it('does not let Node act on --env-file in ctr’s own arguments', () => {
    const marker = join(tmp, 'pwned');
    writeFileSync(join(tmp, 'evil.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x');`);
    writeFileSync(join(tmp, 'env'), `NODE_OPTIONS=--require ${join(tmp, 'evil.cjs')}\n`);
    const r = spawnSync(ctr, ['container', 'run', '--env-file', join(tmp, 'env')], { encoding: 'utf8' });
    expect(r.stderr).toMatch(/name the image to run/);
    expect(existsSync(marker)).toBe(false);
    // Node itself would exit 9 on a missing --env-file; ctr gets to answer instead.
    const missing = spawnSync(ctr, ['container', 'run', '--env-file', join(tmp, 'missing')], {
      encoding: 'utf8',
    });
    expect(missing.stderr).toMatch(/name the image to run/);
  });
});

describe('errors before a command runs', () => {
  it('reach the --log file, where containerd and conmon read them', () => {
    const bin = new URL('../src/bin.ts', import.meta.url).pathname;
    const log = join(tmp, 'log.json');
    const run = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['--conditions=source', '--', bin, '--log', log, '--log-format', 'json', ...args],
        {
          encoding: 'utf8',
        },
      );
    expect(run('no-such-command').status).toBe(2);
    expect(run('kill', '--no-such-flag', 'x').status).toBe(2);
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(lines.map((l) => l.level)).toEqual(['error', 'error']);
    expect(lines[0]!.msg).toBe('unknown command "no-such-command"');
    expect(lines[1]!.msg).toMatch(/^kill: Unknown option '--no-such-flag'/);
  });
});

describe('isForegroundRun', () => {
  it('says yes to a foreground run only, global flags and all', async () => {
    const { isForegroundRun } = await import('../src/global-flags.ts');
    expect(isForegroundRun(['run', '-b', 'b', 'c1'])).toBe(true);
    expect(isForegroundRun(['--root', '/run/x', '--debug', 'run', 'c1'])).toBe(true);
    expect(isForegroundRun(['--root=/run/x', 'run', '--keep', 'c1'])).toBe(true);
    expect(isForegroundRun(['run', '-d', 'c1'])).toBe(false);
    expect(isForegroundRun(['run', '--detach', 'c1'])).toBe(false);
    expect(isForegroundRun(['run', '--help'])).toBe(false);
    expect(isForegroundRun(['--root', 'run', 'create', 'c1'])).toBe(false);
    expect(isForegroundRun(['container', 'run', 'img'])).toBe(false);
    expect(isForegroundRun([])).toBe(false);
  });
});
