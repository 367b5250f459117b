import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type BuiltImage, busyboxImage, makeTmp, needsCommand, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, openStore, type VerifiedSource } from '../src/index.ts';
import { storeImage } from './helpers.ts';

const dir = makeTmp('ctr-image-');
afterAll(() => removeTmp(dir));

let n = 0;
const freshStore = () => openStore(join(dir, `store${n++}`));
const blobFiles = (root: string) => readdirSync(join(root, 'blobs', 'sha256')).sort();
const tmpFiles = (root: string) => readdirSync(join(root, 'ingest')).filter((f) => f.endsWith('.tmp'));

function bytesDesc(bytes: Buffer) {
  return { mediaType: 'application/octet-stream', digest: digestOf(bytes), size: bytes.length };
}

describe('layout', () => {
  it('creates an OCI image layout', () => {
    const store = freshStore();
    expect(JSON.parse(readFileSync(join(store.root, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    expect(JSON.parse(readFileSync(join(store.root, 'index.json'), 'utf8')).manifests).toEqual([]);
    // Opening again keeps what is there.
    writeFileSync(join(store.root, 'index.json'), '{"schemaVersion":2,"manifests":[{"x":1}]}');
    openStore(store.root);
    expect(JSON.parse(readFileSync(join(store.root, 'index.json'), 'utf8')).manifests).toEqual([{ x: 1 }]);
  });
});

describe('ingest', () => {
  it('stores a verified blob and skips a present one without reading the source', async () => {
    const store = freshStore();
    const bytes = Buffer.from('hello blob');
    const desc = bytesDesc(bytes);
    expect((await store.ingest(desc, Readable.from([bytes]))).written).toBe(true);
    expect(await store.hasBlob(desc)).toBe(true);
    let opened = false;
    const again = await store.ingest(desc, async () => {
      opened = true;
      return Readable.from([bytes]);
    });
    expect(again.written).toBe(false);
    expect(opened).toBe(false);
    expect((await store.readBlob(desc)).equals(bytes)).toBe(true);
  });

  it('refuses wrong content, too many and too few bytes, leaving nothing behind', async () => {
    const store = freshStore();
    const desc = bytesDesc(Buffer.from('expected'));
    await expect(store.ingest(desc, Buffer.from('tampered'))).rejects.toThrow(
      /image: verify sha256:.*hashes to/,
    );
    await expect(store.ingest(desc, Buffer.from('expected and more'))).rejects.toThrow(
      /more than the 8 bytes/,
    );
    await expect(store.ingest(desc, Buffer.from('expec'))).rejects.toThrow(/got 5 bytes/);
    expect(blobFiles(store.root)).toEqual([]);
    expect(tmpFiles(store.root)).toEqual([]);
  });

  it('trusts a verified source for the hash, but still refuses a wrong digest or byte count', async () => {
    const store = freshStore();
    const bytes = Buffer.from('verified upstream');
    const desc = bytesDesc(bytes);
    // The chunk buffer is reused after each call, as a registry download does.
    const source = (report: { digest: string; size: number }, sent: Buffer[]): VerifiedSource => ({
      verified: true,
      async download(write) {
        const reused = Buffer.alloc(64);
        for (const part of sent) {
          part.copy(reused);
          write(reused.subarray(0, part.length));
          reused.fill(0);
        }
        return report;
      },
    });
    const halves = [bytes.subarray(0, 5), bytes.subarray(5)];
    await expect(
      store.ingest(desc, source({ digest: digestOf(Buffer.from('other')), size: bytes.length }, halves)),
    ).rejects.toThrow(/image: verify sha256:.*refusing to store it/);
    await expect(
      store.ingest(desc, source({ digest: desc.digest, size: bytes.length }, [bytes.subarray(0, 5)])),
    ).rejects.toThrow(/5 bytes were written/);
    await expect(
      store.ingest(desc, source({ digest: desc.digest, size: bytes.length }, [bytes, Buffer.from('x')])),
    ).rejects.toThrow(/more than the 17 bytes/);
    await expect(
      store.ingest(desc, {
        verified: true,
        download: async () => Promise.reject(new Error('digest-mismatch upstream')),
      }),
    ).rejects.toThrow(/digest-mismatch upstream/);
    expect(blobFiles(store.root)).toEqual([]);
    expect(tmpFiles(store.root)).toEqual([]);
    const ok = await store.ingest(desc, source({ digest: desc.digest, size: bytes.length }, halves));
    expect(ok.written).toBe(true);
    expect((await store.readBlob(desc)).equals(bytes)).toBe(true);
  });

  it('rejects a digest that would name a path outside blobs/', async () => {
    const store = freshStore();
    const desc = { mediaType: 'x', digest: 'sha256:../../../etc/passwd', size: 1 };
    await expect(store.ingest(desc, Buffer.from('x'))).rejects.toThrow(/image: parse digest/);
  });

  it('a source that fails midway leaves nothing visible, and the next ingest completes', async () => {
    const store = freshStore();
    const bytes = Buffer.alloc(3 << 20, 7);
    const desc = bytesDesc(bytes);
    const broken = new Readable({
      read() {
        this.push(bytes.subarray(0, 1 << 20));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(store.ingest(desc, broken)).rejects.toThrow(/connection reset/);
    expect(await store.hasBlob(desc)).toBe(false);
    expect(tmpFiles(store.root)).toEqual([]);
    expect((await store.ingest(desc, bytes)).written).toBe(true);
    expect((await store.readBlob(desc)).equals(bytes)).toBe(true);
  });

  it('concurrent ingests of one digest write it once', async () => {
    const store = freshStore();
    const bytes = Buffer.alloc(1 << 20, 1);
    const desc = bytesDesc(bytes);
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => store.ingest(desc, async () => Readable.from([bytes]))),
    );
    expect(results.filter((r) => r.written)).toHaveLength(1);
    expect(blobFiles(store.root)).toEqual([desc.digest.slice(7)]);
  });

  it('openBlob with verify fails the stream on a corrupted blob', async () => {
    const store = freshStore();
    const bytes = Buffer.from('original content');
    const desc = bytesDesc(bytes);
    await store.ingest(desc, bytes);
    writeFileSync(join(store.root, 'blobs', 'sha256', desc.digest.slice(7)), 'original CONTENT');
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of store.openBlob(desc, { verify: true })) chunks.push(c as Buffer);
      })(),
    ).rejects.toThrow(/hashes to/);
  });
});

describe('refs, resolve, inspect, gc', () => {
  let image: BuiltImage;
  let multi: BuiltImage;
  beforeAll(async () => {
    image = await busyboxImage();
    multi = await busyboxImage({
      index: true,
      extraLayers: [{ entries: [{ path: 'etc/motd', type: 'file', content: 'hi\n' }] }],
    });
  });

  it('tags, lists, resolves and removes refs', async () => {
    const store = freshStore();
    await storeImage(store, image, 'localhost:5000/test/busybox:1');
    await store.tag('localhost:5000/test/busybox:1', 'docker.io/library/busybox:latest');
    const list = await store.list();
    expect(list.map((r) => r.ref)).toEqual([
      'docker.io/library/busybox:latest',
      'localhost:5000/test/busybox:1',
    ]);
    expect(list[0]).toMatchObject({
      digest: image.manifest.descriptor.digest,
      layers: 1,
      platform: image.platform,
    });
    const r = await store.resolve('docker.io/library/busybox:latest');
    expect(r.manifest.layers).toHaveLength(1);
    expect(r.config.rootfs.diff_ids).toEqual(image.diffIds);
    expect((await store.resolve(image.manifest.descriptor.digest)).descriptor.digest).toBe(
      image.manifest.descriptor.digest,
    );
    await expect(
      store.resolve('docker.io/library/busybox:latest', { platform: { os: 'linux', architecture: 's390x' } }),
    ).rejects.toThrow(/stored image is for .* not linux\/s390x/);
    await store.removeRef('localhost:5000/test/busybox:1');
    expect((await store.list()).map((r) => r.ref)).toEqual(['docker.io/library/busybox:latest']);
    await expect(store.resolve('localhost:5000/test/busybox:1')).rejects.toThrow(
      /not in the store.*ctr pull/,
    );
  });

  it('resolves an index to the platform asked for and inspects every platform', async () => {
    const store = freshStore();
    await storeImage(store, multi, 'localhost:5000/multi:1');
    const host = await store.inspect('localhost:5000/multi:1');
    expect(host.descriptor.digest).toBe(multi.manifest.descriptor.digest);
    expect(host.platforms).toHaveLength(2);
    expect(host.layers).toHaveLength(2);
    const other = multi.images[1]!;
    const r = await store.resolve('localhost:5000/multi:1', { platform: other.platform });
    expect(r.descriptor.digest).toBe(other.manifest.descriptor.digest);
    await expect(
      store.resolve('localhost:5000/multi:1', { platform: { os: 'linux', architecture: 's390x' } }),
    ).rejects.toThrow(/no manifest for linux\/s390x/);
  });

  it('gc removes exactly the unreferenced blobs', async () => {
    const store = freshStore();
    await storeImage(store, image, 'a:1');
    await storeImage(store, multi, 'b:1');
    const stray = Buffer.from('unreferenced');
    await store.ingest(bytesDesc(stray), stray);
    writeFileSync(join(store.root, 'ingest', 'sha256-dead.1.x.tmp'), 'left by a killed pull');
    const before = new Set(blobFiles(store.root));
    await store.removeRef('b:1');
    const result = await store.gc();
    const expected = [...new Set([...multi.blobs.keys(), digestOf(stray)])]
      .filter((d) => !image.blobs.has(d))
      .sort();
    expect(result.removed).toEqual(expected);
    const after = new Set(blobFiles(store.root));
    expect([...after].sort()).toEqual([...image.blobs.keys()].map((d) => d.slice(7)).sort());
    expect(before.size - after.size).toBe(expected.length);
    expect(result.bytesFreed).toBeGreaterThan(0);
    expect(tmpFiles(store.root)).toEqual([]);
    expect(readdirSync(join(store.root, 'ingest')).sort()).toEqual(['gc.lock', 'index.lock']);
    await store.resolve('a:1');
  });
});

describe.runIf(runnable('skopeo and umoci read the store', needsCommand('skopeo'), needsCommand('umoci')))(
  'interop',
  () => {
    it('skopeo inspect oci:<store>:<ref> and umoci ls read a stored image', async () => {
      const store = freshStore();
      const image = await busyboxImage();
      const ref = 'localhost:5000/test/busybox:latest';
      await storeImage(store, image, ref);
      const out = JSON.parse(
        execFileSync('skopeo', ['inspect', `oci:${store.root}:${ref}`], { encoding: 'utf8' }),
      );
      expect(out.Digest).toBe(image.manifest.descriptor.digest);
      expect(execFileSync('umoci', ['ls', '--layout', store.root], { encoding: 'utf8' })).toContain(ref);
    });

    it('reads a layout skopeo wrote', async () => {
      const store = freshStore();
      const image = await busyboxImage();
      const src = join(dir, 'src-layout');
      const { writeOciLayout } = await import('@ctr/testkit');
      writeOciLayout(src, image, 'busybox');
      execFileSync('skopeo', [
        'copy',
        '-q',
        `oci:${src}:busybox`,
        `oci:${store.root}:docker.io/library/busybox:latest`,
      ]);
      const r = await store.resolve('docker.io/library/busybox:latest');
      expect(r.config.rootfs.diff_ids).toEqual(image.diffIds);
    });
  },
);

describe('cross-process', () => {
  it('two processes ingesting the same blob neither corrupt nor duplicate it', async () => {
    const store = freshStore();
    const bytes = Buffer.alloc(8 << 20, 3);
    const desc = bytesDesc(bytes);
    const src = join(dir, 'big.bin');
    writeFileSync(src, bytes);
    const script = `
      import { createReadStream } from 'node:fs';
      import { openStore } from '@ctr/image';
      const store = openStore(process.argv[1]);
      const r = await store.ingest(JSON.parse(process.argv[2]), async () => createReadStream(process.argv[3], { highWaterMark: 65536 }));
      process.stdout.write(String(r.written));`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--conditions=source', '--input-type=module', '-e', script, store.root, JSON.stringify(desc), src],
          {
            cwd: join(import.meta.dirname, '..'),
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}`))));
      });
    const outs = await Promise.all([run(), run()]);
    expect(outs.sort()).toEqual(['false', 'true']);
    expect(blobFiles(store.root)).toEqual([desc.digest.slice(7)]);
    expect((await store.readBlob(desc)).equals(bytes)).toBe(true);
    expect(existsSync(join(store.root, 'ingest'))).toBe(true);
    expect(tmpFiles(store.root)).toEqual([]);
  });
});
