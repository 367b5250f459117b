// The CLI as tools/setup installs it: the esbuild bundle (tools/bundle-cli.mjs), whose
// chunks and rewritten imports the source-run tests never load.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig } from '@ctr/spec';
import { makeBusyboxRootfs, makeTmp, needsPath, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const dir = new URL('../dist/bundle/', import.meta.url).pathname;
const bin = join(dir, 'ctr.js');
const built = needsPath(bin, 'the bundled CLI (tools/setup builds it)');
const tmp = makeTmp('ctr-cli-bundle-');
afterAll(() => removeTmp(tmp));

const ctr = (...args: string[]) =>
  spawnSync(process.execPath, ['--', bin, '--root', join(tmp, 'state'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });

describe.runIf(runnable('the bundled CLI', built))('the bundled CLI', () => {
  it('takes every built-in from process.getBuiltinModule, never through an ES module facade', () => {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
      expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/^import [^;]* from ["']node:/m);
    }
  });

  it('answers spec and list', () => {
    const spec = ctr('spec', '--bundle', tmp);
    expect(spec.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(tmp, 'config.json'), 'utf8')).ociVersion).toMatch(/^1\./);
    expect(ctr('list', '--format', 'json')).toMatchObject({ status: 0, stdout: '[]\n', stderr: '' });
  });

  it.runIf(runnable('a container from the bundled CLI', needsRoot()))(
    'runs a container with either launcher and exits with its status',
    () => {
      const bundle = join(tmp, 'b');
      makeBusyboxRootfs(join(bundle, 'rootfs'));
      const config = defaultRuntimeConfig();
      config.process = { ...config.process!, terminal: false, args: ['sh', '-c', 'echo pid $$; exit 3'] };
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
      const fast = ctr('--debug', 'run', '--bundle', bundle, `bundle-${process.pid}-1`);
      expect({ status: fast.status, stdout: fast.stdout }).toEqual({ status: 3, stdout: 'pid 1\n' });
      // The fast launcher where ctr's Node is read-only (tools/setup binds it so).
      expect(fast.stderr).toMatch(/run: (fast|init)/);
      // A createRuntime hook needs the init launcher: the prestarted Worker is discarded.
      config.hooks = { createRuntime: [{ path: '/bin/true' }] };
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
      const init = ctr('--debug', 'run', '--bundle', bundle, `bundle-${process.pid}-2`);
      expect({ status: init.status, stdout: init.stdout }).toEqual({ status: 3, stdout: 'pid 1\n' });
      expect(init.stderr).toContain('run: init');
      expect(init.stderr).not.toContain('FATAL');
    },
  );
});
