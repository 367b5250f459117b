import { closeSync, existsSync, openSync, readFileSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig, type Process } from '@ctr/spec';
import { close } from '@ctr/sys';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  create,
  deleteContainer,
  type ExecOverrides,
  exec,
  execProcessFrom,
  list,
  pause,
  resume,
  start,
  state,
} from '../src/index.ts';
import { openConsoleReceiver } from '../src/terminal/console-receiver.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-exec-');
const root = join(tmp, 'state');
const id = 'x1';
let initPid = 0;

beforeAll(async () => {
  if (process.getuid?.() !== 0) return;
  const bundle = makeBundle(join(tmp, 'b'), { args: ['sleep', '1000'] });
  const { record } = await create({ root, id, bundle, stdio: ['ignore', 'ignore', 'ignore'] });
  initPid = record.pid!;
  await start({ root, id });
});
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

let n = 0;
/** Runs a command in the container with runc exec's overrides; returns status and output. */
async function inContainer(o: ExecOverrides): Promise<{ status: number; out: string }> {
  const out = join(tmp, `out${++n}`);
  const fd = openSync(out, 'w');
  try {
    const r = await exec({
      root,
      id,
      process: (base) => execProcessFrom(base, o),
      stdio: ['ignore', fd, fd],
    });
    return { status: r.status!, out: readFileSync(out, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

const sh = (script: string, o: Partial<ExecOverrides> = {}) =>
  inContainer({ args: ['sh', '-c', script], ...o });

describe.runIf(runnable('exec', needsRoot()))('exec into a running container', () => {
  it('runs in every namespace of the container, and in its cgroup', async () => {
    const types = ['mnt', 'pid', 'net', 'ipc', 'uts'];
    const r = await sh(
      `for t in ${types.join(' ')}; do readlink /proc/self/ns/$t; done; cat /proc/self/cgroup`,
    );
    expect(r.status).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.slice(0, types.length)).toEqual(types.map((t) => readlinkSync(`/proc/${initPid}/ns/${t}`)));
    expect(lines.slice(types.length).join('\n')).toBe(readFileSync(`/proc/${initPid}/cgroup`, 'utf8').trim());
  });

  it('sees the container: its root, its hostname, its processes', async () => {
    const r = await sh(
      'hostname; cat /proc/1/cmdline | tr "\\0" " "; echo; test -e /bin/busybox && echo busybox',
    );
    expect(r.out.split('\n').slice(0, 3)).toEqual(['runc', 'sleep 1000 ', 'busybox']);
  });

  it('has the container process privileges: caps, no_new_privs, seccomp; only stdio open', async () => {
    const r = await sh('grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; ls /proc/$$/fd; true');
    const mask = ((1n << 29n) | (1n << 5n) | (1n << 10n)).toString(16).padStart(16, '0');
    expect(r.out).toContain(`CapEff:\t${mask}`);
    expect(r.out).toContain('NoNewPrivs:\t1');
    expect(r.out.split('\n').filter((l) => /^\d+$/.test(l))).toEqual(['0', '1', '2']);
  });

  it('applies runc exec overrides: env, cwd, user, caps', async () => {
    const r = await sh('echo $FOO; pwd; id -u; id -g; grep CapEff /proc/self/status', {
      env: ['FOO=bar'],
      cwd: '/tmp',
      user: '1000:1001',
    });
    expect(r.out.split('\n').slice(0, 4)).toEqual(['bar', '/tmp', '1000', '1001']);
    const caps = await sh('grep CapEff /proc/self/status', { caps: ['CAP_SYS_CHROOT'] });
    const withChroot = ((1n << 29n) | (1n << 18n) | (1n << 10n) | (1n << 5n)).toString(16).padStart(16, '0');
    expect(caps.out).toContain(`CapEff:\t${withChroot}`);
  });

  it('returns the exit status, 128+signal when killed', async () => {
    expect((await sh('exit 3')).status).toBe(3);
    expect((await sh('kill -9 $$')).status).toBe(137);
  });

  it('detaches, writing the pid file; the process lives in the container', async () => {
    const pidFile = join(tmp, 'exec.pid');
    const proc = (base: Process) => execProcessFrom(base, { args: ['sleep', '100'] });
    const r = await exec({
      root,
      id,
      process: proc,
      detach: true,
      pidFile,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    expect(r.status).toBeUndefined();
    expect(readFileSync(pidFile, 'utf8')).toBe(String(r.pid));
    expect(readFileSync(`/proc/${r.pid}/cgroup`, 'utf8')).toBe(
      readFileSync(`/proc/${initPid}/cgroup`, 'utf8'),
    );
    expect(readlinkSync(`/proc/${r.pid}/ns/pid`)).toBe(readlinkSync(`/proc/${initPid}/ns/pid`));
    // The program, not Node, is what the process runs (CVE-2019-5736).
    expect(readlinkSync(`/proc/${r.pid}/exe`)).not.toBe(process.execPath);
    process.kill(r.pid, 'SIGKILL');
  });

  it('gives a terminal from the container devpts to --console-socket (podman exec -it)', async () => {
    const receiver = openConsoleReceiver();
    try {
      const r = await exec({
        root,
        id,
        detach: true,
        consoleSocket: receiver.path,
        process: (base) => ({
          ...execProcessFrom(base, {
            args: ['sh', '-c', 'tty; stty size; echo done; read l; echo "got $l"'],
            tty: true,
          }),
          consoleSize: { height: 20, width: 70 },
        }),
      });
      const master = receiver.receive();
      let out = '';
      const buf = Buffer.alloc(4096);
      while (!out.includes('done'))
        out += buf.toString('utf8', 0, readSync(master, buf, 0, buf.length, null));
      expect(out).toMatch(/^\/dev\/pts\/\d+\r\n20 70\r\n/);
      writeSync(master, 'typed\n');
      while (!out.includes('got typed'))
        out += buf.toString('utf8', 0, readSync(master, buf, 0, buf.length, null));
      close(master);
      expect(r.status).toBeUndefined();
    } finally {
      receiver.close();
    }
  });

  it('names a missing program, and refuses a paused container', async () => {
    await expect(inContainer({ args: ['nonexistent'] })).rejects.toThrow(/nonexistent/);
    await pause({ root, id });
    try {
      await expect(sh('true')).rejects.toThrow('cannot exec in a paused container');
    } finally {
      await resume({ root, id });
    }
  });

  it('refuses a stopped container', async () => {
    const bundle = makeBundle(join(tmp, 'b2'), { args: ['true'] });
    await create({ root, id: 'x2', bundle, stdio: ['ignore', 'ignore', 'ignore'] });
    await start({ root, id: 'x2' });
    while (state({ root, id: 'x2' }).status !== 'stopped') await new Promise((r) => setTimeout(r, 10));
    const proc = execProcessFrom(defaultRuntimeConfig().process!, { args: ['true'] });
    await expect(exec({ root, id: 'x2', process: proc })).rejects.toThrow(
      'cannot exec in a stopped container',
    );
    expect(existsSync(join(root, 'x2'))).toBe(true);
  });
});
