import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CtrError } from '@ctr/sys';
import {
  type BuiltImage,
  buildImage,
  busyboxImage,
  type LayerEntry,
  makeTmp,
  needsCommand,
  needsRoot,
  removeTmp,
  runnable,
  writeOciLayout,
} from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { chainIds, type LayerSource, SnapshotStore, unpackLayers } from '../src/index.ts';
import { tree } from './tree.ts';

const dir = makeTmp('ctr-unpack-layers-');
const mounted: { store: SnapshotStore; id: string; target: string }[] = [];
afterAll(() => {
  for (const m of mounted) m.store.unmountRoot(m.id, m.target);
  removeTmp(dir);
});

const sources = (img: BuiltImage): LayerSource[] =>
  img.layers.map((l) => ({ descriptor: l.descriptor, open: () => Readable.from([l.bytes]) }));

const base: LayerEntry[] = [
  { path: 'etc/', type: 'dir', mode: 0o755 },
  { path: 'etc/os-release', type: 'file', content: 'ID=ctr\n' },
  { path: 'etc/shadow', type: 'file', content: 'root:*:\n', mode: 0o640, gid: 42 },
  { path: 'usr/', type: 'dir' },
  { path: 'usr/bin/', type: 'dir' },
  { path: 'usr/bin/su', type: 'file', content: 'su', mode: 0o4755 },
  { path: 'usr/bin/ping', type: 'file', content: 'ping', mode: 0o755, xattrs: { 'user.note': 'hello' } },
  { path: 'usr/lib/', type: 'dir' },
  { path: 'usr/lib/a.so', type: 'file', content: 'a' },
  { path: 'usr/lib/b.so', type: 'file', content: 'b' },
  { path: 'usr/lib/sub/', type: 'dir' },
  { path: 'usr/lib/sub/c.so', type: 'file', content: 'c' },
  { path: 'usr/share/', type: 'dir' },
  { path: 'usr/share/doc', type: 'file', content: 'doc' },
  { path: 'bin', type: 'symlink', linkname: 'usr/bin' },
  { path: 'tmp/', type: 'dir', mode: 0o1777 },
  { path: 'home/', type: 'dir' },
  { path: 'home/user/', type: 'dir', uid: 1000, gid: 1000, mode: 0o700 },
  { path: 'home/user/.profile', type: 'file', content: 'x', uid: 1000, gid: 1000 },
  { path: 'usr/bin/ping6', type: 'hardlink', linkname: 'usr/bin/ping' },
  { path: 'dev/', type: 'dir' },
  { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
  { path: 'run/', type: 'dir' },
  { path: 'run/initctl', type: 'fifo', mode: 0o600 },
];
const top: LayerEntry[] = [
  { path: 'etc/', type: 'dir', mode: 0o755 },
  { path: 'etc/.wh.shadow', type: 'file' },
  { path: 'etc/os-release', type: 'file', content: 'ID=ctr\nVERSION=2\n' },
  { path: 'usr/lib/', type: 'dir' },
  { path: 'usr/lib/.wh..wh..opq', type: 'file' },
  { path: 'usr/lib/new.so', type: 'file', content: 'new' },
  { path: 'usr/.wh.share', type: 'file' },
  { path: 'home/user/.profile', type: 'file', content: 'changed', uid: 1000, gid: 1000, mode: 0o600 },
  { path: 'opt/', type: 'dir' },
  { path: 'opt/app', type: 'symlink', linkname: '/usr/bin/su' },
  { path: 'opt/su-copy', type: 'hardlink', linkname: 'usr/bin/su' },
  { path: 'opt/bin-link', type: 'hardlink', linkname: 'bin' },
];

describe.runIf(runnable('flat unpack against umoci', needsRoot(), needsCommand('umoci')))('flat mode', () => {
  it('gives the same tree as umoci unpack for a benign two-layer image', async () => {
    const img = await buildImage({ layers: [{ entries: base }, { entries: top }] });
    const layout = join(dir, 'layout');
    writeOciLayout(layout, img, 'test');
    const bundle = join(dir, 'umoci');
    execFileSync('umoci', ['unpack', '--image', `${layout}:test`, bundle], { stdio: 'pipe' });
    const ours = join(dir, 'flat');
    const res = await unpackLayers(sources(img), ours, { mode: 'flat', diffIds: img.diffIds });
    expect(res.chainIds).toEqual(chainIds(img.diffIds));
    const want = tree(join(bundle, 'rootfs'), { mtimes: true });
    const got = tree(ours, { mtimes: true });
    delete want['.'];
    delete got['.'];
    expect(got).toEqual(want);
    expect(got['etc/shadow']).toBeUndefined();
    expect(got['usr/lib/a.so']).toBeUndefined();
    expect(got['usr/lib/new.so']).toBeDefined();
  });

  it('gives the same tree as umoci unpack for the busybox image', async () => {
    const img = await busyboxImage();
    const layout = join(dir, 'bb-layout');
    writeOciLayout(layout, img, 'bb');
    const bundle = join(dir, 'bb-umoci');
    execFileSync('umoci', ['unpack', '--image', `${layout}:bb`, bundle], { stdio: 'pipe' });
    const ours = join(dir, 'bb-flat');
    await unpackLayers(sources(img), ours, { mode: 'flat', diffIds: img.diffIds });
    const want = tree(join(bundle, 'rootfs'), { mtimes: true });
    const got = tree(ours, { mtimes: true });
    delete want['.'];
    delete got['.'];
    expect(got).toEqual(want);
  });

  it('removes the partial result when a diff_id does not match', async () => {
    const img = await buildImage({ layers: [{ entries: base }, { entries: top }] });
    const target = join(dir, 'mismatch');
    const diffIds = [img.diffIds[0]!, `sha256:${'1'.repeat(64)}`];
    await expect(unpackLayers(sources(img), target, { mode: 'flat', diffIds })).rejects.toThrow(
      /unpack: verify layer diff_id \(layer sha256:[0-9a-f]{64}\).*rootfs.diff_ids/,
    );
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a layer count that differs from diff_ids', async () => {
    const img = await buildImage({ layers: [{ entries: base }] });
    await expect(
      unpackLayers(sources(img), join(dir, 'count'), { mode: 'flat', diffIds: [] }),
    ).rejects.toThrow(/1 layers but 0 rootfs.diff_ids/);
  });
});

describe.runIf(runnable('overlay snapshots', needsRoot()))('overlay mode', () => {
  it('mounts a root that shows exactly the flat tree, sharing the base snapshot', async () => {
    const snapshotsDir = join(dir, 'store');
    const a = await buildImage({ layers: [{ entries: base }, { entries: top }] });
    const b = await buildImage({
      layers: [{ entries: base }, { entries: [{ path: 'b-only', type: 'file', content: 'b' }] }],
    });
    const store = new SnapshotStore(snapshotsDir);

    const flat = join(dir, 'ov-flat');
    await unpackLayers(sources(a), flat, { mode: 'flat', diffIds: a.diffIds });
    const rootA = join(dir, 'ov-a');
    const resA = await unpackLayers(sources(a), rootA, {
      mode: 'overlay',
      diffIds: a.diffIds,
      snapshotsDir,
      id: 'a',
    });
    mounted.push({ store, id: 'a', target: rootA });
    expect(resA.mount?.lowerdirs).toHaveLength(2);
    expect(tree(rootA)).toEqual(tree(flat));
    // mtimes too, except the root's: the overlay root is the fresh upper dir.
    const [overlayTree, flatTree] = [tree(rootA, { mtimes: true }), tree(flat, { mtimes: true })];
    delete overlayTree['.'];
    delete flatTree['.'];
    expect(overlayTree).toEqual(flatTree);

    const rootB = join(dir, 'ov-b');
    await unpackLayers(sources(b), rootB, { mode: 'overlay', diffIds: b.diffIds, snapshotsDir, id: 'b' });
    mounted.push({ store, id: 'b', target: rootB });
    expect(readdirSync(join(snapshotsDir, 'snapshots'))).toHaveLength(3);
    const baseKey = chainIds(a.diffIds)[0]!;
    expect(store.refcount(baseKey)).toBe(2);
    expect(statSync(join(rootB, 'b-only')).isFile()).toBe(true);
    expect(existsSync(join(rootB, 'etc/shadow'))).toBe(true);
  });

  it('counts references and collects unreferenced snapshots', async () => {
    const snapshotsDir = join(dir, 'gc-store');
    const img = await buildImage({ layers: [{ entries: base }, { entries: top }] });
    const store = new SnapshotStore(snapshotsDir);
    const target = join(dir, 'gc-root');
    const res = await unpackLayers(sources(img), target, {
      mode: 'overlay',
      diffIds: img.diffIds,
      snapshotsDir,
      id: 'gc',
    });
    store.acquire('image:test', [res.chainIds[0]!]);
    const release = await store.lease();
    expect(() => store.gc()).toThrow(/an unpack is in progress/);
    release();
    expect(store.gc()).toEqual([]);
    store.unmountRoot('gc', target);
    expect(existsSync(join(target, 'etc'))).toBe(false);
    expect(store.refcount(res.chainIds[1]!)).toBe(0);
    expect(store.gc()).toEqual([res.chainIds[1]]);
    store.release('image:test');
    expect(store.gc()).toEqual([res.chainIds[0]]);
    expect(store.list()).toEqual([]);
  });

  it('refuses a hardlink to a file no layer has', async () => {
    const img = await buildImage({
      layers: [{ entries: base }, { entries: [{ path: 'x', type: 'hardlink', linkname: 'etc/shadow-' }] }],
    });
    const snapshotsDir = join(dir, 'link-store');
    await expect(
      unpackLayers(sources(img), join(dir, 'link-root'), {
        mode: 'overlay',
        diffIds: img.diffIds,
        snapshotsDir,
      }),
    ).rejects.toThrow(/hardlink target "etc\/shadow-" is not a file or symlink/);
    expect(readdirSync(join(snapshotsDir, 'snapshots'))).toHaveLength(1);
    expect(readdirSync(join(snapshotsDir, 'tmp'))).toEqual([]);
  });

  it('reports the failing layer of several on threads and leaves nothing behind', async () => {
    const snapshotsDir = join(dir, 'threads-store');
    const many = Array.from(
      { length: 400 },
      (_, i): LayerEntry => ({
        path: `data/f${i}`,
        type: 'file',
        content: `${i}`.repeat(200),
      }),
    );
    const img = await buildImage({ layers: [{ entries: base }, { entries: many }, { entries: top }] });
    mkdirSync(snapshotsDir);
    const bad = [...img.diffIds];
    bad[2] = `sha256:${'3'.repeat(64)}`;
    const err = await unpackLayers(sources(img), join(dir, 'threads-root'), {
      mode: 'overlay',
      diffIds: bad,
      snapshotsDir,
      concurrency: 3,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtrError);
    expect((err as CtrError).stage).toBe('unpack');
    expect((err as CtrError).message).toContain(img.layers[2]!.descriptor.digest);
    expect((err as CtrError).message).toMatch(/diff_id/);
    expect(readdirSync(join(snapshotsDir, 'snapshots'))).toEqual([]);
    expect(readdirSync(join(snapshotsDir, 'tmp'))).toEqual([]);
    // The caller's buffers were copied to the threads, not taken from it.
    for (const l of img.layers) expect(l.bytes.byteLength).toBeGreaterThan(0);
  });

  it('unpacks layers streamed from files on threads into the flat tree', async () => {
    const img = await buildImage({ layers: [{ entries: base }, { entries: top }] });
    const files = img.layers.map((l, i) => {
      const f = join(dir, `layer-${i}.tar.gz`);
      writeFileSync(f, l.bytes);
      return f;
    });
    const fromFiles: LayerSource[] = img.layers.map((l, i) => ({
      descriptor: l.descriptor,
      open: () => createReadStream(files[i]!, { highWaterMark: 1 << 16 }),
    }));
    const snapshotsDir = join(dir, 'files-store');
    const store = new SnapshotStore(snapshotsDir);
    const res = await unpackLayers(fromFiles, join(dir, 'files-root'), {
      mode: 'overlay',
      diffIds: img.diffIds,
      snapshotsDir,
      id: 'files',
    });
    mounted.push({ store, id: res.id!, target: res.rootfs });
    await unpackLayers(sources(img), join(dir, 'files-flat'), { mode: 'flat', diffIds: img.diffIds });
    expect(tree(res.rootfs)).toEqual(tree(join(dir, 'files-flat')));
  });

  it('fails with the stream error when a layer stream breaks, on this thread or a worker', async () => {
    const img = await buildImage({ layers: [{ entries: base }, { entries: top }] });
    const broken = (i: number): LayerSource => {
      const bytes = img.layers[i]!.bytes;
      return {
        // The smallest size sorts a layer last, onto the worker lane.
        descriptor: { ...img.layers[i]!.descriptor, size: i === 0 ? 1 << 30 : 1 },
        open: () =>
          Readable.from(
            (async function* () {
              yield bytes.subarray(0, bytes.length >> 1);
              throw new Error('connection reset');
            })(),
          ),
      };
    };
    for (const i of [0, 1]) {
      const snapshotsDir = join(dir, `broken-store-${i}`);
      mkdirSync(snapshotsDir);
      const layers = sources(img).map((l, j) => (j === i ? broken(i) : l));
      await expect(
        unpackLayers(layers, join(dir, `broken-root-${i}`), {
          mode: 'overlay',
          diffIds: img.diffIds,
          snapshotsDir,
          concurrency: 2,
        }),
      ).rejects.toThrow(/read layer.*connection reset/);
      expect(readdirSync(join(snapshotsDir, 'tmp'))).toEqual([]);
      expect(readdirSync(join(snapshotsDir, 'snapshots'))).toEqual([]);
    }
  });

  it('leaves no snapshot behind when a diff_id does not match', async () => {
    const snapshotsDir = join(dir, 'bad-store');
    const img = await buildImage({ layers: [{ entries: base }] });
    mkdirSync(snapshotsDir);
    await expect(
      unpackLayers(sources(img), join(dir, 'bad-root'), {
        mode: 'overlay',
        diffIds: [`sha256:${'2'.repeat(64)}`],
        snapshotsDir,
      }),
    ).rejects.toThrow(/diff_id/);
    expect(readdirSync(join(snapshotsDir, 'snapshots'))).toEqual([]);
    expect(readdirSync(join(snapshotsDir, 'tmp'))).toEqual([]);
  });
});
