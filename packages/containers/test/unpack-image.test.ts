// unpackImage of an image the store lacks: each layer unpacks while the pull still
// runs, against a real docker-registry (with the fault proxy in front for a corrupted
// layer) and the real kernel, in both modes.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '@ctr/image';
import { RegistryClient, RegistryError } from '@ctr/registry';
import {
  type BuiltImage,
  busyboxImage,
  type FaultProxy,
  makeTmp,
  needsCommand,
  needsRoot,
  pushBuiltImage,
  type RegistryServer,
  removeTmp,
  runnable,
  startFaultProxy,
  startRegistry,
} from '@ctr/testkit';
import { SnapshotStore } from '@ctr/unpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PullIntoStore, type UnpackMode, unpackImage } from '../src/index.ts';

const canRun = runnable('unpack while pulling', needsRoot(), needsCommand('docker-registry'));
const tmp = makeTmp('ctr-unpack-image-');
let registry: RegistryServer;
let proxy: FaultProxy;
let client: RegistryClient;
let image: BuiltImage;
const repo = 'unpack-image/busybox';
const mounted: { snapshotsDir: string; id: string; target: string }[] = [];
/** The trees of the image unpacked from a store that already held it, per mode. */
const reference = {} as Record<UnpackMode, string>;

let n = 0;

/** Its own store, snapshots and target; overlay roots are unmounted after the file. */
function sandbox(mode: UnpackMode) {
  const dir = join(tmp, `u${++n}`);
  const s = {
    dir,
    store: openStore(join(dir, 'store')),
    target: join(dir, 'root'),
    snapshotsDir: join(dir, 'snapshots'),
    id: `unpack-image-${n}`,
    mode,
  };
  if (mode === 'overlay') mounted.push({ snapshotsDir: s.snapshotsDir, id: s.id, target: s.target });
  return s;
}

/** Every path with its type, mode, owner, size (files) and link target; contents are left to diff. */
function listing(root: string): string[] {
  const out = execFileSync('find', [
    root,
    '-mindepth',
    '1',
    '(',
    '-type',
    'f',
    '-printf',
    '%P f %m %U:%G %s\\n',
    ')',
    '-o',
    '-printf',
    '%P %y %m %U:%G %l\\n',
  ]);
  return out.toString().split('\n').sort();
}

function expectSameTree(root: string, expected: string): void {
  expect(listing(root)).toEqual(listing(expected));
  // diff exits non-zero, and so throws, on any file whose bytes differ.
  execFileSync('diff', ['-r', '--no-dereference', root, expected]);
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether the unpack has written the busybox layer's binary yet: to the target, a fill or a snapshot. */
function busyboxWritten(s: ReturnType<typeof sandbox>): boolean {
  if (s.mode === 'flat') return existsSync(join(s.target, 'bin/busybox'));
  return ['tmp', 'snapshots'].some((sub) => {
    const d = join(s.snapshotsDir, sub);
    return existsSync(d) && readdirSync(d).some((f) => existsSync(join(d, f, 'bin/busybox')));
  });
}

/** Nothing of an unpack is left: no target, mount, snapshot, fill, root or hold. */
function expectNothingLeft(s: ReturnType<typeof sandbox>): void {
  expect(existsSync(s.target)).toBe(false);
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(s.dir);
  if (s.mode === 'overlay') {
    const snapshots = new SnapshotStore(s.snapshotsDir);
    expect(snapshots.list()).toEqual([]);
    expect(snapshots.holders().size).toBe(0);
    expect(readdirSync(join(s.snapshotsDir, 'tmp'))).toEqual([]);
    expect(readdirSync(join(s.snapshotsDir, 'roots'))).toEqual([]);
  }
}

beforeAll(async () => {
  if (!canRun) return;
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  client = new RegistryClient({ plainHttp: true });
  // Three layers, the top one removing a file of the one below: lanes that fill
  // snapshots out of order must still stack them in order.
  image = await busyboxImage({
    extraLayers: [
      { entries: [{ path: 'etc/motd', type: 'file', content: 'layer two\n' }] },
      {
        entries: [
          { path: 'etc/', type: 'dir', mode: 0o755 },
          { path: 'etc/.wh.motd', type: 'file' },
          { path: 'opt/', type: 'dir' },
          { path: 'opt/three', type: 'file', content: 'layer three\n' },
        ],
      },
    ],
  });
  await pushBuiltImage(client, `${registry.host}/${repo}`, '1', image);
  const held = openStore(join(tmp, 'held'));
  await held.pull(`${registry.host}/${repo}:1`, { client });
  for (const mode of ['flat', 'overlay'] as const) {
    const s = sandbox(mode);
    await unpackImage({ ...s, store: held, ref: `${registry.host}/${repo}:1` });
    reference[mode] = s.target;
  }
});

afterAll(async () => {
  for (const m of mounted) {
    try {
      new SnapshotStore(m.snapshotsDir).unmountRoot(m.id, m.target);
    } catch {
      // Never mounted: the test expected the unpack to fail.
    }
  }
  await client?.close();
  await proxy?.stop();
  await registry?.stop();
  removeTmp(tmp);
});

describe.runIf(canRun)('unpackImage of a missing image', { timeout: 120_000 }, () => {
  it.each(['flat', 'overlay'] as const)(
    '%s: unpacks the layers while the pull runs, to the tree of a stored image',
    async (mode) => {
      const s = sandbox(mode);
      const ref = `${registry.host}/${repo}:1`;
      const pull: PullIntoStore = async (name, onEvent) => {
        await s.store.pull(name, { client, onProgress: onEvent });
        // The pull is not over until the unpack has written the first layer: an
        // unpack that waited for the whole pull would never start.
        await until('the unpack to begin before the pull ends', () => busyboxWritten(s));
      };
      const res = await unpackImage({ ...s, ref, pull });
      expect(res.image.descriptor.digest).toBe(image.manifest.descriptor.digest);
      expect(res.image.config.rootfs.diff_ids).toEqual(image.diffIds);
      expect((await s.store.list()).map((r) => r.ref)).toEqual([ref]);
      expectSameTree(s.target, reference[mode]);
      expect(existsSync(join(s.target, 'etc/motd'))).toBe(false);
      if (mode === 'overlay') {
        expect(res.id).toBe(s.id);
        expect(new SnapshotStore(s.snapshotsDir).list()).toHaveLength(3);
      }
    },
  );

  it('a pull that reports nothing is awaited, then unpacked', async () => {
    const s = sandbox('flat');
    const ref = `${registry.host}/${repo}:1`;
    const res = await unpackImage({ ...s, ref, pull: (name) => s.store.pull(name, { client }) });
    expect(res.image.descriptor.digest).toBe(image.manifest.descriptor.digest);
    expectSameTree(s.target, reference.flat);
  });

  it.each(['flat', 'overlay'] as const)(
    '%s: a corrupted layer fails with the digest error, leaving no snapshot, tree or ref',
    async (mode) => {
      const s = sandbox(mode);
      const layer = image.layers[0]!.descriptor;
      // Near the end of the largest layer, so the small ones are in and unpacking by then.
      proxy.inject({
        method: 'GET',
        path: new RegExp(`/blobs/${layer.digest}$`),
        fault: { kind: 'corrupt', atByte: layer.size - 100 },
      });
      const err = await unpackImage({
        ...s,
        ref: `${proxy.host}/${repo}:1`,
        pull: (name, onEvent) =>
          s.store.pull(name, {
            clientOptions: { plainHttp: true, retry: { attempts: 1 } },
            onProgress: onEvent,
          }),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect(err).toMatchObject({ kind: 'digest-mismatch' });
      expect(String(err)).toContain(layer.digest);
      expectNothingLeft(s);
      expect(await s.store.list()).toEqual([]);
    },
  );

  it.each(['flat', 'overlay'] as const)(
    '%s: a pull that fails after its last blob takes back the finished root',
    async (mode) => {
      const s = sandbox(mode);
      const pull: PullIntoStore = async (name, onEvent) => {
        await s.store.pull(name, { client, onProgress: onEvent });
        await until('the unpack to begin', () => busyboxWritten(s));
        throw new Error('the pull failed after its blobs');
      };
      await expect(unpackImage({ ...s, ref: `${registry.host}/${repo}:1`, pull })).rejects.toThrow(
        'the pull failed after its blobs',
      );
      expect(existsSync(s.target)).toBe(false);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(s.dir);
      if (mode === 'overlay') {
        // The layers stay as unheld snapshots for the next unpack, until gc.
        const snapshots = new SnapshotStore(s.snapshotsDir);
        expect(snapshots.holders().size).toBe(0);
        expect(readdirSync(join(s.snapshotsDir, 'roots'))).toEqual([]);
        expect(snapshots.gc()).toHaveLength(3);
      }
    },
  );
});
