import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '@ctr/registry';
import {
  type BuiltImage,
  busyboxImage,
  type FaultProxy,
  makeTmp,
  needsCommand,
  needsPath,
  needsRoot,
  pushBuiltImage,
  type RegistryServer,
  removeTmp,
  runnable,
  startFaultProxy,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type PullEvent } from '../src/index.ts';
import { eachLimited } from '../src/pull.ts';

describe('eachLimited', () => {
  it('keeps to the limit, starts the next item when one releases its slot early, and stops after a failure', async () => {
    const started: number[] = [];
    const gates = new Map<number, () => void>();
    let running = 0;
    let most = 0;
    const all = eachLimited([1, 2, 3, 4], 2, async (i, release) => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      if (i === 1) release();
      await new Promise<void>((resolve) => gates.set(i, resolve));
      running--;
    });
    await new Promise((resolve) => setImmediate(resolve));
    // 1 gave its slot back at once, so 2 and 3 run beside it; 4 waits for a slot.
    expect(started).toEqual([1, 2, 3]);
    gates.get(2)?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2, 3, 4]);
    for (const i of [1, 3, 4]) gates.get(i)?.();
    await all;
    expect(most).toBe(3);

    const seen: number[] = [];
    const failing = eachLimited([1, 2, 3], 1, async (i) => {
      seen.push(i);
      if (i === 1) throw new Error('first fails');
    });
    await expect(failing).rejects.toThrow('first fails');
    expect(seen).toEqual([1]);
  });
});

const dir = makeTmp('ctr-image-pull-');
let n = 0;
const freshStore = () => openStore(join(dir, `store${n++}`));
const blobFiles = (root: string) => readdirSync(join(root, 'blobs', 'sha256')).sort();
const refNames = (root: string) =>
  (
    JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')).manifests as {
      annotations?: Record<string, string>;
    }[]
  ).map((m) => m.annotations?.['org.opencontainers.image.ref.name']);

/** Runs a pull in another Node process, as a second `ctr pull` would. */
function childPull(root: string, ref: string) {
  const script = `
    import { openStore } from '@ctr/image';
    const r = await openStore(process.argv[1]).pull(process.argv[2], { clientOptions: { plainHttp: true } });
    process.stdout.write(r.digest);`;
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--input-type=module', '-e', script, root, ref],
    {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out, err })),
  );
  return { child, done };
}

describe.runIf(
  runnable(
    'pull and push against docker-registry',
    needsRoot(),
    needsPath('/usr/bin/docker-registry', 'docker-registry'),
  ),
)('pull, push', () => {
  let registry: RegistryServer;
  let proxy: FaultProxy;
  let client: RegistryClient;
  let image: BuiltImage;
  let multi: BuiltImage;
  let ref: string;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    client = new RegistryClient({ plainHttp: true });
    image = await busyboxImage({
      extraLayers: [{ entries: [{ path: 'etc/motd', type: 'file', content: 'layer two\n' }] }],
    });
    multi = await busyboxImage({ index: true });
    ref = `${registry.host}/test/busybox:latest`;
    await pushBuiltImage(client, `${registry.host}/test/busybox`, 'latest', image);
    await pushBuiltImage(client, `${registry.host}/test/multi`, '1', multi);
  });
  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await registry?.stop();
    removeTmp(dir);
  });

  it('pulls every blob verified, names the image and reports progress; a second pull fetches nothing', async () => {
    const store = freshStore();
    const events: PullEvent[] = [];
    const record = await store.pull(ref, { client, onProgress: (e) => events.push(e) });
    expect(record).toMatchObject({ ref, digest: image.manifest.descriptor.digest, layers: 2 });
    expect(blobFiles(store.root)).toEqual([...image.blobs.keys()].map((d) => d.slice(7)).sort());
    const done = events.filter((e) => e.type === 'blob-done');
    expect(done).toHaveLength(3);
    expect(done.every((e) => e.type === 'blob-done' && !e.cached)).toBe(true);
    const last = events.filter((e) => e.type === 'blob-progress').at(-1);
    expect(last).toBeDefined();
    expect(events.at(-1)?.type).toBe('done');

    const again: PullEvent[] = [];
    await store.pull(ref, { client, onProgress: (e) => again.push(e) });
    expect(again.filter((e) => e.type === 'blob-done').every((e) => e.type === 'blob-done' && e.cached)).toBe(
      true,
    );
    expect(again.some((e) => e.type === 'blob-progress')).toBe(false);
    const r = await store.resolve(ref);
    expect(r.config.rootfs.diff_ids).toEqual(image.diffIds);
  });

  it('pulls the platform asked for from an index', async () => {
    const store = freshStore();
    const other = multi.images[1]!;
    const p = `${other.platform.os}/${other.platform.architecture}${other.platform.variant ? `/${other.platform.variant}` : ''}`;
    const record = await store.pull(`${registry.host}/test/multi:1`, { client, platform: p });
    expect(record.digest).toBe(other.manifest.descriptor.digest);
    expect(record.platform).toMatchObject({
      os: other.platform.os,
      architecture: other.platform.architecture,
    });
    const inspected = await store.inspect(`${registry.host}/test/multi:1`);
    expect(inspected.config.architecture).toBe(other.platform.architecture);
  });

  it('a dropped connection is resumed and a corrupted blob is refused, leaving nothing visible', async () => {
    const layer = image.layers[0]!.descriptor;
    const viaProxy = `${proxy.host}/test/busybox:latest`;
    const store = freshStore();
    proxy.inject({
      method: 'GET',
      path: new RegExp(`/blobs/${layer.digest}$`),
      fault: { kind: 'drop', afterBytes: 32 * 1024 },
    });
    expect((await store.pull(viaProxy, { clientOptions: { plainHttp: true } })).digest).toBe(
      image.manifest.descriptor.digest,
    );

    const bad = freshStore();
    proxy.inject({
      method: 'GET',
      path: new RegExp(`/blobs/${layer.digest}$`),
      fault: { kind: 'corrupt', atByte: 1000 },
      times: 1,
    });
    await expect(
      bad.pull(viaProxy, { clientOptions: { plainHttp: true, retry: { attempts: 1 } } }),
    ).rejects.toThrow(/digest/);
    expect(existsSync(join(bad.root, 'blobs', 'sha256', layer.digest.slice(7)))).toBe(false);
    expect(readdirSync(join(bad.root, 'ingest')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(refNames(bad.root)).toEqual([]);
  });

  it('a pull killed mid-layer leaves nothing visible, and the next pull resumes and completes it', async () => {
    const store = freshStore();
    const layer = image.layers[0]!.descriptor;
    proxy.inject({
      method: 'GET',
      path: new RegExp(`/blobs/${layer.digest}$`),
      fault: { kind: 'stall', afterBytes: 64 * 1024 },
    });
    const viaProxy = `${proxy.host}/test/busybox:latest`;
    const { child, done } = childPull(store.root, viaProxy);
    // Wait until the child has written part of the layer, then kill it without warning.
    const partial = () =>
      readdirSync(join(store.root, 'ingest')).some(
        (f) =>
          f.startsWith(`sha256-${layer.digest.slice(7)}.`) &&
          f.endsWith('.tmp') &&
          statSync(join(store.root, 'ingest', f)).size > 0,
      );
    for (let i = 0; i < 600 && !partial(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(partial()).toBe(true);
    child.kill('SIGKILL');
    await done;
    expect(existsSync(join(store.root, 'blobs', 'sha256', layer.digest.slice(7)))).toBe(false);
    expect(refNames(store.root)).toEqual([]);

    const before = proxy.requests.length;
    const record = await store.pull(viaProxy, { clientOptions: { plainHttp: true } });
    expect(record.digest).toBe(image.manifest.descriptor.digest);
    expect(blobFiles(store.root)).toEqual([...image.blobs.keys()].map((d) => d.slice(7)).sort());
    expect(readdirSync(join(store.root, 'ingest')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // Only the missing part of the layer was fetched again.
    const layerGets = proxy.requests.slice(before).filter((q) => q.url.endsWith(`/blobs/${layer.digest}`));
    expect(layerGets).toHaveLength(1);
    expect(layerGets[0]!.range).toMatch(/^bytes=[1-9][0-9]*-$/);
  });

  it('a partial blob that does not match is discarded and fetched whole', async () => {
    const store = freshStore();
    const layer = image.layers[0]!.descriptor;
    writeFileSync(
      join(store.root, 'ingest', `sha256-${layer.digest.slice(7)}.1.dead.tmp`),
      'not the start of the layer',
    );
    const before = proxy.requests.length;
    const record = await store.pull(`${proxy.host}/test/busybox:latest`, {
      clientOptions: { plainHttp: true },
    });
    expect(record.digest).toBe(image.manifest.descriptor.digest);
    const ranges = proxy.requests
      .slice(before)
      .filter((q) => q.url.endsWith(`/blobs/${layer.digest}`))
      .map((q) => q.range);
    expect(ranges).toEqual(['bytes=26-', undefined]);
    expect(readdirSync(join(store.root, 'ingest')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('two processes pulling the same image at once each finish, and each blob is fetched once', async () => {
    const store = freshStore();
    const before = proxy.requests.length;
    const viaProxy = `${proxy.host}/test/busybox:latest`;
    const results = await Promise.all([
      childPull(store.root, viaProxy).done,
      childPull(store.root, viaProxy).done,
    ]);
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r).toMatchObject({ code: 0, out: image.manifest.descriptor.digest });
    }
    const blobGets = proxy.requests
      .slice(before)
      .filter((q) => q.method === 'GET' && q.url.includes('/blobs/'));
    expect(blobGets.map((q) => q.url).sort()).toEqual([...new Set(blobGets.map((q) => q.url))].sort());
    expect(blobFiles(store.root)).toEqual([...image.blobs.keys()].map((d) => d.slice(7)).sort());
    expect(refNames(store.root)).toEqual([`${proxy.host}/test/busybox:latest`]);
  });

  it('pushes a stored image under a new name, and it pulls back identical', async () => {
    const store = freshStore();
    await store.pull(ref, { client });
    const target = `${registry.host}/pushed/copy:v1`;
    const pushed = await store.push(ref, target, { client });
    expect(pushed.digest).toBe(image.manifest.descriptor.digest);
    const other = freshStore();
    const record = await other.pull(target, { client });
    expect(record.digest).toBe(image.manifest.descriptor.digest);
  });

  it.runIf(runnable('skopeo and umoci read a pulled store', needsCommand('skopeo'), needsCommand('umoci')))(
    'skopeo inspect and umoci ls read the store after a pull',
    async () => {
      const store = freshStore();
      await store.pull(ref, { client });
      const out = JSON.parse(
        execFileSync('skopeo', ['inspect', `oci:${store.root}:${ref}`], { encoding: 'utf8' }),
      );
      expect(out.Digest).toBe(image.manifest.descriptor.digest);
      expect(out.Layers).toHaveLength(2);
      expect(execFileSync('umoci', ['ls', '--layout', store.root], { encoding: 'utf8' }).trim()).toBe(ref);
    },
  );
});
