import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  busyboxImage,
  makeTmp,
  needsCommand,
  rawTar,
  removeTmp,
  runnable,
  writeOciLayout,
} from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/index.ts';
import { storeImage } from './helpers.ts';

const dir = makeTmp('ctr-image-archive-');
afterAll(() => removeTmp(dir));
let n = 0;
const freshStore = () => openStore(join(dir, `store${n++}`));

describe('archives', () => {
  it('export then import round-trips every named image', async () => {
    const image = await busyboxImage();
    const multi = await busyboxImage({
      index: true,
      extraLayers: [{ entries: [{ path: 'x', type: 'file', content: 'x' }] }],
    });
    const src = freshStore();
    await storeImage(src, image, 'localhost:5000/a:1');
    await storeImage(src, multi, 'localhost:5000/multi:2');
    const archive = join(dir, 'both.tar');
    await src.exportArchive(['localhost:5000/a:1', 'localhost:5000/multi:2'], archive);

    const dst = freshStore();
    const imported = await dst.importArchive(archive);
    expect(imported.map((i) => i.ref).sort()).toEqual(['localhost:5000/a:1', 'localhost:5000/multi:2']);
    expect((await dst.list()).map((r) => [r.ref, r.digest])).toEqual(
      (await src.list()).map((r) => [r.ref, r.digest]),
    );
    const other = multi.images[1]!;
    expect(
      (await dst.resolve('localhost:5000/multi:2', { platform: other.platform })).descriptor.digest,
    ).toBe(other.manifest.descriptor.digest);
    // gzip-compressed archives are read as well, and --ref renames a single image.
    const gz = join(dir, 'a.tar.gz');
    await src.exportArchive(['localhost:5000/a:1'], join(dir, 'a.tar'));
    writeFileSync(gz, gzipSync(readFileSync(join(dir, 'a.tar'))));
    const renamed = await freshStore().importArchive(gz, { ref: 'example.com/renamed:1' });
    expect(renamed).toEqual([
      {
        ref: 'example.com/renamed:1',
        descriptor: expect.objectContaining({ digest: image.manifest.descriptor.digest }),
      },
    ]);
  });

  it('refuses an archive whose blob does not match its name', async () => {
    const image = await busyboxImage();
    const config = image.config.descriptor;
    const archive = join(dir, 'bad.tar');
    writeFileSync(
      archive,
      rawTar([
        { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
        { name: `blobs/sha256/${config.digest.slice(7)}`, data: 'x'.repeat(config.size) },
      ]),
    );
    const store = freshStore();
    await expect(store.importArchive(archive)).rejects.toThrow(/image: verify sha256:/);
    expect(await store.list()).toEqual([]);
  });

  it('refuses an archive that names a blob it lacks', async () => {
    const image = await busyboxImage();
    const archive = join(dir, 'incomplete.tar');
    const index = {
      schemaVersion: 2,
      manifests: [
        { ...image.manifest.descriptor, annotations: { 'org.opencontainers.image.ref.name': 'x.io/y:1' } },
      ],
    };
    writeFileSync(
      archive,
      rawTar([
        { name: 'index.json', data: JSON.stringify(index) },
        { name: `blobs/sha256/${image.manifest.descriptor.digest.slice(7)}`, data: image.manifest.bytes },
      ]),
    );
    const store = freshStore();
    await expect(store.importArchive(archive)).rejects.toThrow(/referenced but missing from the archive/);
    expect(await store.list()).toEqual([]);
  });

  describe.runIf(runnable('skopeo archive interop', needsCommand('skopeo')))('with skopeo', () => {
    it('imports what skopeo writes as docker-archive and oci-archive', async () => {
      const image = await busyboxImage();
      const layout = join(dir, 'layout');
      writeOciLayout(layout, image, 'busybox');
      const docker = join(dir, 'docker.tar');
      execFileSync('skopeo', [
        'copy',
        '-q',
        `oci:${layout}:busybox`,
        `docker-archive:${docker}:busybox:1.36`,
      ]);
      const store = freshStore();
      const imported = await store.importArchive(docker);
      expect(imported.map((i) => i.ref)).toEqual(['docker.io/library/busybox:1.36']);
      const r = await store.resolve('busybox:1.36');
      expect(r.config.rootfs.diff_ids).toEqual(image.diffIds);

      const oci = join(dir, 'oci.tar');
      execFileSync('skopeo', [
        'copy',
        '-q',
        `oci:${layout}:busybox`,
        `oci-archive:${oci}:quay.io/x/busybox:2`,
      ]);
      const store2 = freshStore();
      await store2.importArchive(oci);
      expect((await store2.resolve('quay.io/x/busybox:2')).descriptor.digest).toBe(
        image.manifest.descriptor.digest,
      );
    });

    it('skopeo reads an exported archive as oci-archive and docker-archive', async () => {
      const image = await busyboxImage();
      const store = freshStore();
      await storeImage(store, image, 'localhost:5000/exp:1');
      const archive = join(dir, 'exp.tar');
      await store.exportArchive(['localhost:5000/exp:1'], archive);
      const oci = JSON.parse(
        execFileSync('skopeo', ['inspect', `oci-archive:${archive}:localhost:5000/exp:1`], {
          encoding: 'utf8',
        }),
      );
      expect(oci.Digest).toBe(image.manifest.descriptor.digest);
      const docker = JSON.parse(
        execFileSync('skopeo', ['inspect', `docker-archive:${archive}`], { encoding: 'utf8' }),
      );
      expect(docker.Layers).toHaveLength(1);
    });
  });
});
