// runImage, stopContainer, removeContainer and execContainer against a real
// docker-registry and the real kernel, through the library API (a Worker makes the
// namespaces, as for any long-lived caller). The CLI's flags are tested end to end in
// packages/cli/test/containers.test.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '@ctr/image';
import { RegistryClient } from '@ctr/registry';
import { state } from '@ctr/runtime';
import {
  busyboxImage,
  makeTmp,
  needsCommand,
  needsRoot,
  pushBuiltImage,
  type RegistryServer,
  removeTmp,
  runnable,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ContainerRecords,
  execContainer,
  type RunImageOptions,
  readEnvFile,
  removeContainer,
  runImage,
  stopContainer,
} from '../src/index.ts';

const canRun = runnable('image-level run', needsRoot(), needsCommand('docker-registry'));
const tmp = makeTmp('ctr-run-image-');
let registry: RegistryServer;
let ref: string;

beforeAll(async () => {
  if (!canRun) return;
  registry = await startRegistry();
  ref = `${registry.host}/run-image/busybox:1`;
  const built = await busyboxImage({ config: { StopSignal: 'SIGUSR2' } });
  const client = new RegistryClient({ plainHttp: true });
  await pushBuiltImage(client, `${registry.host}/run-image/busybox`, '1', built);
});

afterAll(async () => {
  await registry?.stop();
  removeTmp(tmp);
});

let n = 0;

/** Its own store, snapshots, records and runtime root. */
function sandbox() {
  const dir = join(tmp, `s${++n}`);
  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true });
  const records = new ContainerRecords(join(dir, 'containers'));
  const base = {
    store: openStore(join(dir, 'store')),
    records,
    runtimeRoot: join(dir, 'run'),
    snapshotsDir: join(dir, 'snapshots'),
    pull: { clientOptions: { plainHttp: true } },
  };
  const run = (opts: Omit<RunImageOptions, keyof typeof base>) => runImage({ ...base, ...opts });
  const mounts = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(dir));
  return { dir, out, records, base, run, mounts };
}

describe('readEnvFile', () => {
  it('names an unreadable env file with the flag and the errno', () => {
    expect(() => readEnvFile(join(tmp, 'no-such-env'), () => undefined)).toThrow(
      /containers: read --env-file .*no-such-env: ENOENT — the env file must be/,
    );
  });
});

describe.runIf(canRun)('runImage', { timeout: 300_000 }, () => {
  it('pulls when missing, records the run, returns the status, and removeContainer cleans up', async () => {
    const s = sandbox();
    const { meta, status } = await s.run({
      ref,
      name: 'kept',
      volumes: [{ source: s.out, destination: '/out', readonly: false }],
      args: ['sh', '-c', 'hostname > /out/hostname; exit 3'],
    });
    expect(status).toBe(3);
    expect(readFileSync(join(s.out, 'hostname'), 'utf8')).toBe('kept\n');
    expect(meta).toMatchObject({
      name: 'kept',
      image: ref,
      rootMode: 'overlay',
      stopSignal: 'SIGUSR2',
      autoRemove: false,
    });
    expect(meta.command).toEqual(['sh', '-c', 'hostname > /out/hostname; exit 3']);
    expect(s.records.find('kept').id).toBe(meta.id);
    expect(s.records.find(meta.id.slice(0, 6)).name).toBe('kept');
    expect(() => s.records.checkName('kept')).toThrow(/the name is in use/);
    // The stopped container keeps its root until it is removed.
    expect(s.mounts().length).toBeGreaterThan(0);

    await removeContainer(meta, s.base);
    expect(s.records.list()).toEqual([]);
    expect(s.mounts()).toEqual([]);
    expect(() => state({ id: meta.id, root: s.base.runtimeRoot })).toThrow();
  });

  it('with rm leaves no record, mount, runtime state or cgroup', async () => {
    const s = sandbox();
    const { meta, status } = await s.run({ ref, rm: true, rootMode: 'flat', args: ['true'] });
    expect(status).toBe(0);
    expect(readdirSync(s.records.root)).toEqual([]);
    expect(s.mounts()).toEqual([]);
    expect(existsSync(`/sys/fs/cgroup/pids/ctr/${meta.id}`)).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/memory/ctr/${meta.id}`)).toBe(false);
  });

  it('execs into a detached container, then stops it with its StopSignal', async () => {
    const s = sandbox();
    const { meta } = await s.run({
      ref,
      detach: true,
      volumes: [{ source: s.out, destination: '/out', readonly: false }],
      args: [
        'sh',
        '-c',
        'trap "echo usr2 > /out/signal; exit 0" USR2; touch /out/ready; while :; do sleep 0.1; done',
      ],
    });
    expect(state({ id: meta.id, root: s.base.runtimeRoot }).status).toBe('running');
    for (let i = 0; i < 200 && !existsSync(join(s.out, 'ready')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const status = await execContainer(meta, {
      runtimeRoot: s.base.runtimeRoot,
      args: ['sh', '-c', 'echo $X in $(pwd) > /out/exec; exit 4'],
      env: ['X=exec'],
      workdir: '/tmp',
    });
    expect(status).toBe(4);
    expect(readFileSync(join(s.out, 'exec'), 'utf8')).toBe('exec in /tmp\n');
    await stopContainer(meta, { runtimeRoot: s.base.runtimeRoot, timeoutMs: 30_000 });
    expect(readFileSync(join(s.out, 'signal'), 'utf8')).toBe('usr2\n');
    await expect(execContainer(meta, { runtimeRoot: s.base.runtimeRoot, args: ['true'] })).rejects.toThrow(
      /it is stopped; exec needs a running container/,
    );
    await removeContainer(meta, s.base);
    expect(s.mounts()).toEqual([]);
  });

  it('refuses a missing image and unsupported options before leaving anything behind', async () => {
    const s = sandbox();
    await expect(s.run({ ref: `${registry.host}/run-image/absent:1`, args: ['true'] })).rejects.toThrow(
      /absent/,
    );
    await expect(s.run({ ref, tty: true, detach: true })).rejects.toThrow(/run -d without -t/);
    await expect(s.run({ ref, rm: true, detach: true })).rejects.toThrow(/no monitor process/);
    expect(readdirSync(s.records.root)).toEqual([]);
    expect(s.mounts()).toEqual([]);
  });
});
