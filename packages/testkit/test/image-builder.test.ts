import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  busyboxImage,
  MediaTypes,
  makeTmp,
  needsCommand,
  rawTar,
  removeTmp,
  runnable,
  sha256Digest,
  writeOciLayout,
} from '../src/index.ts';

interface ReadEntry {
  header: tar.Header & { pax?: Record<string, string> | null };
  body: Buffer;
}

async function readTar(bytes: Buffer): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ header: entry.header as ReadEntry['header'], body: Buffer.concat(chunks) });
  }
  return out;
}

const tmps: string[] = [];
afterAll(() => {
  for (const t of tmps) removeTmp(t);
});

describe('buildImage', () => {
  it('writes every entry type, whiteouts, xattrs and mode 0 as given', async () => {
    const image = await buildImage({
      layers: [
        {
          entries: [
            { path: 'a', type: 'dir', mode: 0o750, uid: 1000, gid: 1000 },
            { path: 'a/f', type: 'file', content: 'hello', mode: 0, xattrs: { 'user.k': 'v' } },
            { path: 'a/l', type: 'symlink', linkname: '../etc/passwd' },
            { path: 'a/h', type: 'hardlink', linkname: 'a/f' },
            { path: 'a/c', type: 'char', devmajor: 1, devminor: 3 },
            { path: 'a/b', type: 'block', devmajor: 7, devminor: 0 },
            { path: 'a/p', type: 'fifo' },
            { path: 'a/.wh.gone', type: 'file' },
            { path: 'a/.wh..wh..opq', type: 'file' },
          ],
        },
      ],
      compression: 'none',
    });
    const layer = image.layers[0];
    expect(layer?.descriptor.mediaType).toBe(MediaTypes.ociLayer);
    const entries = await readTar(layer?.bytes ?? Buffer.alloc(0));
    const byName = new Map(entries.map((e) => [e.header.name.replace(/\/$/, ''), e]));
    expect(byName.get('a')?.header).toMatchObject({ type: 'directory', mode: 0o750, uid: 1000, gid: 1000 });
    expect(byName.get('a/f')?.body.toString()).toBe('hello');
    expect(byName.get('a/f')?.header.mode).toBe(0);
    expect(byName.get('a/f')?.header.pax).toMatchObject({ 'SCHILY.xattr.user.k': 'v' });
    expect(byName.get('a/l')?.header).toMatchObject({ type: 'symlink', linkname: '../etc/passwd' });
    expect(byName.get('a/h')?.header).toMatchObject({ type: 'link', linkname: 'a/f' });
    expect(byName.get('a/c')?.header).toMatchObject({ type: 'character-device', devmajor: 1, devminor: 3 });
    expect(byName.get('a/b')?.header).toMatchObject({ type: 'block-device', devmajor: 7 });
    expect(byName.get('a/p')?.header.type).toBe('fifo');
    expect(byName.has('a/.wh.gone') && byName.has('a/.wh..wh..opq')).toBe(true);
    expect(image.diffIds).toEqual([sha256Digest(layer?.bytes ?? Buffer.alloc(0))]);
  });

  it('compresses with gzip and zstd and records diff_ids of the uncompressed tar', async () => {
    const entries = [{ path: 'x', type: 'file' as const, content: 'x'.repeat(1000) }];
    const image = await buildImage({ layers: [{ entries }, { entries, compression: 'zstd' }] });
    const [gz, zst] = image.layers;
    expect(gz?.descriptor.mediaType).toBe(MediaTypes.ociLayerGzip);
    expect(zst?.descriptor.mediaType).toBe(MediaTypes.ociLayerZstd);
    const rawGz = gunzipSync(gz?.bytes ?? Buffer.alloc(0));
    const rawZst = zstdDecompressSync(zst?.bytes ?? Buffer.alloc(0));
    expect(image.diffIds).toEqual([sha256Digest(rawGz), sha256Digest(rawZst)]);
    const config = JSON.parse(image.config.bytes.toString());
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: image.diffIds });
    expect(config.history).toHaveLength(2);
  });

  it('builds a multi-platform index with a second fake platform', async () => {
    const image = await buildImage({
      layers: [{ entries: [{ path: 'f', type: 'file', content: '1' }] }],
      index: true,
      config: { Cmd: ['sh'], User: '1000', WorkingDir: '/w', StopSignal: 'SIGINT', Labels: { a: 'b' } },
    });
    expect(image.top).toBe(image.index);
    const index = JSON.parse(image.index?.bytes.toString() ?? '{}');
    expect(index.mediaType).toBe(MediaTypes.ociIndex);
    expect(index.manifests).toHaveLength(2);
    expect(
      new Set(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture))
        .size,
    ).toBe(2);
    for (const img of image.images) {
      const cfg = JSON.parse(img.config.bytes.toString());
      expect(cfg.architecture).toBe(img.platform.architecture);
      expect(cfg.config).toMatchObject({ Cmd: ['sh'], User: '1000', StopSignal: 'SIGINT' });
      expect(image.blobs.has(img.manifest.descriptor.digest)).toBe(true);
    }
  });

  it('uses Docker schema2 media types on request', async () => {
    const image = await buildImage({ layers: [{ entries: [] }], format: 'docker', index: true });
    expect(image.top.descriptor.mediaType).toBe(MediaTypes.dockerList);
    expect(image.manifest.descriptor.mediaType).toBe(MediaTypes.dockerManifest);
    expect(image.config.descriptor.mediaType).toBe(MediaTypes.dockerConfig);
    expect(image.layers[0]?.descriptor.mediaType).toBe(MediaTypes.dockerLayerGzip);
  });

  it('builds the same bytes twice (fixed mtimes, sorted directory walk)', async () => {
    const a = await busyboxImage();
    const b = await busyboxImage();
    expect(a.top.descriptor.digest).toBe(b.top.descriptor.digest);
    const entries = await readTar(gunzipSync(a.layers[0]?.bytes ?? Buffer.alloc(0)));
    const names = entries.map((e) => e.header.name);
    expect(names).toContain('bin/busybox');
    expect(entries.find((e) => e.header.name === 'bin/sh')?.header).toMatchObject({
      type: 'symlink',
      linkname: 'busybox',
    });
    expect(JSON.parse(a.config.bytes.toString()).config.Cmd).toEqual(['sh']);
  });
});

describe('rawTar', () => {
  it('writes hostile names and oversized PAX records exactly as given', async () => {
    const bytes = rawTar([
      { name: '../escape', data: 'x' },
      { name: '/abs', data: 'y' },
      { name: 'big', data: 'z', pax: { 'SCHILY.xattr.user.big': 'v'.repeat(70_000) } },
    ]);
    const entries = await readTar(bytes);
    expect(entries.map((e) => e.header.name)).toEqual(['../escape', '/abs', 'big']);
    expect(entries[2]?.header.pax?.['SCHILY.xattr.user.big']).toHaveLength(70_000);
    expect(execFileSync('tar', ['-tf', '-'], { input: bytes, encoding: 'utf8' })).toContain('../escape');
  });
});

describe.runIf(
  runnable('OCI layout read by skopeo and umoci', needsCommand('skopeo'), needsCommand('umoci')),
)('writeOciLayout', () => {
  it('writes a layout that skopeo inspects and umoci lists', async () => {
    const dir = makeTmp();
    tmps.push(dir);
    const image = await busyboxImage({ index: true });
    writeOciLayout(dir, image, 'latest');
    const single = await busyboxImage({ config: { Cmd: ['true'] } });
    writeOciLayout(dir, single, 'single');
    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${dir}:single`], { encoding: 'utf8' }),
    );
    expect(inspected.Layers).toEqual(single.layers.map((l) => l.descriptor.digest));
    execFileSync('skopeo', ['inspect', '--raw', `oci:${dir}:latest`]);
    const refs = execFileSync('umoci', ['ls', '--layout', dir], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(refs.sort()).toEqual(['latest', 'single']);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(2);
  });
});
