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

/** A busybox bundle at `name` under the test's directory whose program is `args`. */
function busyboxBundle(name: string, args: string[]) {
  const bundle = join(tmp, name);
  makeBusyboxRootfs(join(bundle, 'rootfs'));
  const config = defaultRuntimeConfig();
  config.process = { ...config.process!, terminal: false, args };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return { bundle, config };
}

/** For create and start: the init keeps their stdio, and pipes would hold spawnSync until the container ends. */
const ctrQuiet = (...args: string[]) =>
  spawnSync(process.execPath, ['--', bin, '--root', join(tmp, 'state'), ...args], {
    stdio: 'ignore',
    timeout: 30_000,
  });

describe.runIf(runnable('the bundled CLI', built))('the bundled CLI', () => {
  it('takes every built-in from process.getBuiltinModule, never through an ES module facade', () => {
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files).toEqual(
      expect.arrayContaining(['ctr.js', 'thread.js', 'init/main.js', 'init/exec-main.js']),
    );
    for (const file of files) {
      expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/^import [^;]* from ["']node:/m);
    }
  });

  it('has the init and the exec helper as one file each: they load nothing after leaving the host', () => {
    for (const file of ['init/main.js', 'init/exec-main.js']) {
      expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/^import\b|\bimport\(/m);
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
      const { bundle, config } = busyboxBundle('b', ['sh', '-c', 'echo pid $$; exit 3']);
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

  it.runIf(runnable('create, exec and delete from the bundled CLI', needsRoot()))(
    'starts the bundled init for create, and the bundled exec helper for exec',
    () => {
      const { bundle } = busyboxBundle('c', ['sleep', '30']);
      const id = `bundle-${process.pid}-3`;
      try {
        const created = ctrQuiet('create', '--bundle', bundle, id);
        expect(created.status).toBe(0);
        const { pid } = JSON.parse(ctr('state', id).stdout) as { pid: number };
        // Still the init (waiting for start): Node running the bundle's init.
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(join(dir, 'init/main.js'));
        const started = ctrQuiet('start', id);
        expect(started.status).toBe(0);
        const exec = ctr('exec', id, 'sh', '-c', 'echo exec in $(readlink /proc/1/exe)');
        expect({ status: exec.status, stdout: exec.stdout, stderr: exec.stderr }).toEqual({
          status: 0,
          stdout: 'exec in /bin/busybox\n',
          stderr: '',
        });
      } finally {
        ctr('delete', '--force', id);
      }
    },
  );
});
