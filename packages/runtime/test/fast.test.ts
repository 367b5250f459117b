import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSeccompProfile } from '@ctr/seccomp';
import { defaultRuntimeConfig } from '@ctr/spec';
import { makeTmp, needsRoot, removeTmp, runNodeScript, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteContainer, kill, list, runFast, runWithFastestLauncher, state } from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-fast-');
const root = join(tmp, 'state');
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

// Container ids name host cgroups (/sys/fs/cgroup/<ctl>/<id>): unique per test process.
let n = 0;
const nextId = () => `fast-${process.pid}-${++n}`;

const makeConfigLinux = () => defaultRuntimeConfig().linux!;

const until = async (what: () => boolean) => {
  while (!what()) await new Promise((r) => setTimeout(r, 10));
};

/** A file the container writes its stdout to, and a way to read it. */
function output(id: string): { fd: number; read: () => string; close: () => void } {
  const path = join(tmp, `${id}.out`);
  const fd = openSync(path, 'w');
  return { fd, read: () => readFileSync(path, 'utf8'), close: () => closeSync(fd) };
}

describe.runIf(runnable('fast launcher', needsRoot()))('runFast', () => {
  it('returns the exit status and deletes the container', async () => {
    const id = nextId();
    const bundle = makeBundle(join(tmp, id), { args: ['sh', '-c', 'exit 3'] });
    expect(await runFast({ root, id, bundle, stdio: ['ignore', 'ignore', 'inherit'] })).toBe(3);
    expect(existsSync(join(root, id))).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/pids/${id}`)).toBe(false);
  });

  it('runs the program as pid 1, in the cgroup, with state another command can read', async () => {
    const id = nextId();
    const out = output(id);
    const bundle = makeBundle(join(tmp, id), {
      args: ['sh', '-c', 'trap "exit 7" USR1; echo $$; cat /proc/self/cgroup; while :; do sleep 0.1; done'],
    });
    const pidFile = join(tmp, `${id}.pid`);
    const running = runFast({ root, id, bundle, pidFile, stdio: ['ignore', out.fd, 'inherit'] });
    await until(() => out.read().includes('0::'));
    const s = state({ root, id });
    expect(s).toMatchObject({ id, status: 'running', bundle });
    expect(readFileSync(pidFile, 'utf8')).toBe(String(s.pid));
    const [pidInside, ...cgroups] = out.read().trim().split('\n');
    expect(pidInside).toBe('1');
    // Every hierarchy names the container's cgroup, the unified one of a hybrid host too.
    for (const line of cgroups) if (!line.includes('name=')) expect(line.endsWith(`/${id}`)).toBe(true);
    // ctr itself is not one of the container's processes (delete kills those): its
    // launching thread moves back out right after the spawn, off ctr's main thread.
    const procs = () => readFileSync(`/sys/fs/cgroup/pids/${id}/cgroup.procs`, 'utf8').trim().split('\n');
    expect(procs()).toContain(String(s.pid));
    await expect.poll(procs).not.toContain(String(process.pid));
    // A signal to ctr reaches the container.
    process.kill(process.pid, 'SIGUSR1');
    expect(await running).toBe(7);
    out.close();
    expect(list({ root }).map((c) => c.id)).not.toContain(id);
  });

  it('installs the seccomp filter on the program, before or after dropping privileges', async () => {
    for (const noNewPrivileges of [true, false]) {
      const id = nextId();
      const out = output(id);
      const bundle = makeBundle(
        join(tmp, id),
        { args: ['sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'], noNewPrivileges },
        { linux: { ...makeConfigLinux(), seccomp: defaultSeccompProfile() } },
      );
      expect(await runFast({ root, id, bundle, stdio: ['ignore', out.fd, 'inherit'] })).toBe(0);
      out.close();
      expect(out.read()).toBe(`NoNewPrivs:\t${noNewPrivileges ? 1 : 0}\nSeccomp:\t2\n`);
    }
  });

  it('exits 128+signal when the container is killed, and keeps it with keep', async () => {
    const id = nextId();
    const bundle = makeBundle(join(tmp, id), { args: ['sleep', '100'] });
    const running = runFast({ root, id, bundle, stdio: ['ignore', 'ignore', 'inherit'], keep: true });
    await until(() => list({ root }).some((c) => c.id === id && c.status === 'running'));
    await kill({ root, id, signal: 'KILL' });
    expect(await running).toBe(137);
    expect(state({ root, id }).status).toBe('stopped');
    await deleteContainer({ root, id });
  });

  it("fails with the init launcher's error for a missing binary and leaves nothing behind", async () => {
    const id = nextId();
    const bundle = makeBundle(join(tmp, id), { args: ['no-such-program'] });
    await expect(runFast({ root, id, bundle, stdio: ['ignore', 'ignore', 'inherit'] })).rejects.toThrow(
      'exec: "no-such-program": executable file not found in $PATH',
    );
    expect(existsSync(join(root, id))).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/pids/${id}`)).toBe(false);
  });

  it('refuses a cwd reached through a magic link (CVE-2024-21626)', async () => {
    const id = nextId();
    const bundle = makeBundle(join(tmp, id), { args: ['true'], cwd: '/proc/self/fd/3' });
    await expect(runFast({ root, id, bundle, stdio: ['ignore', 'ignore', 'inherit'] })).rejects.toThrow(
      'chdir to process.cwd /proc/self/fd/3',
    );
    expect(existsSync(join(root, id))).toBe(false);
  });

  it('names the reason when a config needs the init launcher; the fallback takes it', async () => {
    const id = nextId();
    const bundle = makeBundle(
      join(tmp, id),
      { args: ['true'] },
      {
        hooks: { createRuntime: [{ path: '/bin/true' }] },
      },
    );
    await expect(runFast({ root, id, bundle, stdio: ['ignore', 'ignore', 'inherit'] })).rejects.toThrow(
      /run with the fast launcher.*createRuntime/,
    );
    const told: string[] = [];
    const status = await runWithFastestLauncher({
      root,
      id,
      bundle,
      stdio: ['ignore', 'ignore', 'inherit'],
      onLauncher: (launcher, reason) => told.push(`${launcher}: ${reason}`),
    });
    expect(status).toBe(0);
    expect(told).toEqual([expect.stringMatching(/^init: .*createRuntime/)]);
  });
});

// Ending a Worker while it registers koffi's addon aborts the whole process, and so
// does a process exit, which ends its Workers. Run in a child so an abort is a failed
// status, not a lost test worker.
describe('the prestarted launching Worker', () => {
  it('is discarded cleanly at any point of its start', () => {
    const src = new URL('../src/fast/launching-worker.ts', import.meta.url).href;
    const script = `
      import * as lw from ${JSON.stringify(src)};
      for (let ms = 0; ms < 60; ms += 15) {
        lw.prestartLaunchingWorker();
        await new Promise((r) => setTimeout(r, ms));
        await lw.discardPrestartedWorker();
      }`;
    expect(runNodeScript(script)).toEqual({ status: 0, signal: null, stderr: '' });
  });
});
