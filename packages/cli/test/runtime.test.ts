import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig } from '@ctr/spec';
import { makeBusyboxRootfs, makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;
const tmp = makeTmp('ctr-cli-runtime-');
const root = join(tmp, 'state');
afterAll(() => {
  for (const id of JSON.parse(ctr('list', '--format', 'json').stdout || '[]') as { id: string }[]) {
    ctr('delete', '--force', id.id);
  }
  removeTmp(tmp);
});

let calls = 0;

/**
 * Runs ctr with stdout and stderr as files: a container created by the command
 * inherits them, and a pipe it holds open would keep spawnSync waiting.
 */
function ctr(...args: string[]) {
  const out = join(tmp, `out.${++calls}`);
  const err = join(tmp, `err.${calls}`);
  const fds = [openSync(out, 'w'), openSync(err, 'w')] as const;
  const r = spawnSync(process.execPath, ['--conditions=source', '--', bin, '--root', root, ...args], {
    stdio: ['ignore', fds[0], fds[1]],
    timeout: 30_000,
  });
  closeSync(fds[0]);
  closeSync(fds[1]);
  return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

function bundle(name: string, args: string[]): string {
  const dir = join(tmp, name);
  makeBusyboxRootfs(join(dir, 'rootfs'));
  const config = defaultRuntimeConfig();
  config.process = { ...config.process!, terminal: false, args };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe.runIf(runnable('ctr runtime commands', needsRoot()))(
  'ctr create/start/state/kill/delete/list',
  () => {
    it("runs the lifecycle with runc's outputs", () => {
      const b = bundle('b1', ['sleep', '100']);
      const pidFile = join(tmp, 'pid');
      const created = ctr('create', '--bundle', b, '--pid-file', pidFile, 'cli-c1');
      expect(created.stderr).toBe('');
      expect(created.status).toBe(0);
      const st = JSON.parse(ctr('state', 'cli-c1').stdout);
      expect(st).toMatchObject({ ociVersion: '1.2.0', id: 'cli-c1', status: 'created', bundle: b });
      expect(readFileSync(pidFile, 'utf8')).toBe(String(st.pid));

      expect(ctr('start', 'cli-c1').status).toBe(0);
      expect(JSON.parse(ctr('state', 'cli-c1').stdout).status).toBe('running');
      const table = ctr('list').stdout.split('\n');
      expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
      expect(table[1]).toMatch(new RegExp(`^cli-c1\\s+${st.pid}\\s+running\\s+${b}`));
      expect(ctr('list', '-q').stdout).toBe('cli-c1\n');

      const refused = ctr('delete', 'cli-c1');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('cannot delete container cli-c1 that is not stopped: running');

      expect(ctr('kill', 'cli-c1', 'KILL').status).toBe(0);
      for (let i = 0; i < 100 && JSON.parse(ctr('state', 'cli-c1').stdout).status !== 'stopped'; i++);
      const notRunning = ctr('kill', 'cli-c1', '9');
      expect(notRunning.status).toBe(1);
      expect(notRunning.stderr).toContain('container not running');
      expect(ctr('delete', 'cli-c1').status).toBe(0);

      const missing = ctr('state', 'cli-c1');
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('container cli-c1 does not exist');
      expect(ctr('delete', '--force', 'cli-c1').status).toBe(0);
    }, 300_000);

    it('run exits with the container status and writes errors to --log as JSON', () => {
      const b = bundle('b2', ['sh', '-c', 'exit 42']);
      expect(ctr('run', '--bundle', b, 'cli-r1').status).toBe(42);
      expect(ctr('list', '-q').stdout).toBe('');

      const log = join(tmp, 'log.json');
      const bad = bundle('b3', ['missing-binary']);
      const r = spawnSync(
        process.execPath,
        [
          '--conditions=source',
          '--',
          bin,
          '--root',
          root,
          '--log',
          log,
          '--log-format',
          'json',
          'run',
          '-b',
          bad,
          'r2',
        ],
        { stdio: 'ignore' },
      );
      expect(r.status).toBe(1);
      const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop()!);
      expect(line).toMatchObject({ level: 'error' });
      expect(line.msg).toContain('exec: "missing-binary": executable file not found in $PATH');
    }, 300_000);

    it('run --detach leaves the container running', () => {
      const b = bundle('b4', ['sleep', '100']);
      expect(ctr('run', '-d', '-b', b, 'cli-d1').status).toBe(0);
      expect(JSON.parse(ctr('state', 'cli-d1').stdout).status).toBe('running');
      expect(ctr('delete', '-f', 'cli-d1').status).toBe(0);
    });

    it('features lists only what ctr supports', () => {
      const f = JSON.parse(ctr('features').stdout);
      expect(f).toMatchObject({ ociVersionMin: '1.0.0', ociVersionMax: '1.2.0' });
      expect(f.linux.namespaces).toContain('user');
      expect(f.linux.cgroup.systemd).toBe(false);
    });

    it('exec runs a command in a running container, with runc flags or a --process file', async () => {
      const b = bundle('b5', ['sleep', '100']);
      expect(ctr('run', '-d', '-b', b, 'cli-e1').status).toBe(0);
      const r = ctr('exec', '-e', 'X=1', '--cwd', '/etc', 'cli-e1', 'sh', '-c', 'echo $X $(pwd); exit 5');
      expect(r.status).toBe(5);
      expect(r.stdout).toBe('1 /etc\n');
      // -t without a console socket: ctr relays the container's pty to its own stdout.
      const t = ctr('exec', '-t', 'cli-e1', 'sh', '-c', 'tty; exit 2');
      expect(t.status).toBe(2);
      expect(t.stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
      // What conmon and containerd's shim pass: --process FILE --detach --pid-file P.
      const processFile = join(tmp, 'process.json');
      writeFileSync(
        processFile,
        JSON.stringify({ ...defaultRuntimeConfig().process, terminal: false, args: ['sleep', '50'] }),
      );
      const pidFile = join(tmp, 'exec.pid');
      expect(ctr('exec', '--process', processFile, '--detach', '--pid-file', pidFile, 'cli-e1').status).toBe(
        0,
      );
      const pid = Number(readFileSync(pidFile, 'utf8'));
      // The pid file is written once the process is ready in the container, as runc
      // does: just before its execve, so its command line may still be the helper's.
      await expect.poll(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\u000050\u0000');
      const missing = ctr('exec', 'nope', 'true');
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('container nope does not exist');
      expect(ctr('delete', '-f', 'cli-e1').status).toBe(0);
    });

    it('rejects unsupported global flags clearly', () => {
      const r = ctr('--systemd-cgroup', 'create', '-b', tmp, 'x');
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('systemd cgroup management is not supported');
    });
  },
);
