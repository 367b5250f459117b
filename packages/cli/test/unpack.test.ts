import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  busyboxImage,
  DOCKER_REGISTRY,
  makeTmp,
  needsCommand,
  needsPath,
  needsRoot,
  removeTmp,
  runnable,
  startRegistry,
  writeOciLayout,
} from '@ctr/testkit';
import { SnapshotStore } from '@ctr/unpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;
const tmp = makeTmp('ctr-cli-unpack-');
const store = join(tmp, 'store');
const snapshots = join(tmp, 'snapshots');
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
  removeTmp(tmp);
});

function ctr(...args: string[]) {
  const r = spawnSync(process.execPath, ['--conditions=source', '--', bin, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.runIf(runnable('ctr unpack and ctr bundle', needsRoot()))('ctr unpack / ctr bundle', () => {
  beforeAll(async () => {
    const image = await busyboxImage({ config: { Cmd: ['echo', 'hello from the bundle'] } });
    // The store names refs in their canonical form; older stores used the name as given.
    for (const name of ['busybox', 'docker.io/library/busybox:latest']) writeOciLayout(store, image, name);
  });

  it('unpacks a flat root filesystem', () => {
    const dir = join(tmp, 'flat');
    const r = ctr('unpack', '--store', store, 'busybox', dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(statSync(join(dir, 'bin/busybox')).mode & 0o777).toBe(0o755);
    expect(statSync(join(dir, 'tmp')).mode & 0o7777).toBe(0o1777);
  });

  it('mounts an overlay root from snapshots', () => {
    const dir = join(tmp, 'overlay');
    const r = ctr(
      'unpack',
      '--overlay',
      '--store',
      store,
      '--snapshots',
      snapshots,
      '--id',
      'cli',
      'busybox',
      dir,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('overlay root cli mounted');
    cleanups.push(() => new SnapshotStore(snapshots).unmountRoot('cli', dir));
    writeFileSync(join(dir, 'tmp/written'), 'upper');
    expect(existsSync(join(snapshots, 'roots/cli/upper/tmp/written'))).toBe(true);
    const ls = ctr('snapshots', '--snapshots', snapshots, 'ls');
    expect(ls.stdout).toMatch(/^sha256:[0-9a-f]{64}\t1$/m);
    expect(ls.stdout).toContain('root:cli\t1 snapshots');
    expect(ctr('snapshots', '--snapshots', snapshots, 'gc').stdout).toBe('');
    expect(ctr('snapshots', '--snapshots', snapshots, 'umount', 'cli', dir).status).toBe(0);
    expect(existsSync(join(dir, 'bin'))).toBe(false);
    expect(ctr('snapshots', '--snapshots', snapshots, 'gc').stdout).toMatch(/^removed sha256:/);
  });

  it('writes a bundle whose config comes from the image', () => {
    const dir = join(tmp, 'bundle');
    const r = ctr('bundle', '--store', store, 'busybox', dir);
    expect(r.stderr).toBe('');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.root.path).toBe('rootfs');
    expect(config.process.args).toEqual(['echo', 'hello from the bundle']);
    expect(config.process.env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(ctr('bundle', '--store', store, 'busybox', dir).stderr).toMatch(/exists already/);
  });

  it.runIf(runnable('runc runs a ctr bundle', needsCommand('runc')))('runc runs the bundle', () => {
    const dir = join(tmp, 'bundle-runc');
    expect(ctr('bundle', '--store', store, 'busybox', dir).status).toBe(0);
    const path = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8'));
    config.process.terminal = false;
    writeFileSync(path, JSON.stringify(config));
    const run = spawnSync(
      'runc',
      ['--root', join(tmp, 'runc'), 'run', '--bundle', dir, `ctr-unpack-${process.pid}`],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('hello from the bundle\n');
  });

  it('refuses --overlay with --flat', () => {
    expect(ctr('unpack', '--overlay', '--flat', '--store', store, 'busybox', join(tmp, 'x')).stderr).toMatch(
      /exclude each other/,
    );
  });

  it.runIf(
    runnable(
      'ctr unpack pulls from a registry',
      needsCommand('skopeo'),
      needsPath(DOCKER_REGISTRY, 'docker-registry'),
    ),
  )('pulls an image that is not in the store, then unpacks it', async () => {
    const registry = await startRegistry();
    try {
      const ref = `${registry.host}/ctr/busybox:1`;
      execFileSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${store}:busybox`, `docker://${ref}`], {
        stdio: 'pipe',
      });
      const dir = join(tmp, 'pulled');
      const empty = join(tmp, 'empty-store');
      const r = ctr('unpack', '--store', empty, '--plain-http', '--quiet', ref, dir);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(statSync(join(dir, 'bin/busybox')).isFile()).toBe(true);
      expect(existsSync(join(empty, 'index.json'))).toBe(true);
      const missing = ctr(
        'unpack',
        '--store',
        empty,
        '--plain-http',
        '--quiet',
        `${registry.host}/nope:1`,
        dir,
      );
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toMatch(/nope/);
    } finally {
      await registry.stop();
    }
  });
});
