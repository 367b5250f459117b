import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type BuiltImage,
  buildImage,
  busyboxImage,
  needsCommand,
  type RegistryServer,
  runnable,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform, MediaTypes, RegistryClient, RegistryError, staticCredentials } from '../src/index.ts';
import { collect, pushImage } from './push-image.ts';

describe.runIf(runnable('registry pull and push against docker-registry', needsCommand('docker-registry')))(
  'plain HTTP registry',
  () => {
    let registry: RegistryServer;
    let client: RegistryClient;
    let image: BuiltImage;

    beforeAll(async () => {
      registry = await startRegistry();
      client = new RegistryClient({ plainHttp: [registry.host], credentials: staticCredentials({}) });
      image = await busyboxImage({
        index: true,
        extraLayers: [{ entries: [{ path: 'etc/motd', type: 'file', content: 'hi\n' }] }],
      });
      await pushImage(client, `${registry.host}/test/busybox`, 'latest', image);
    });
    afterAll(async () => {
      await client?.close();
      await registry?.stop();
    });

    it('selects the host platform from the index and fetches its manifest', async () => {
      const got = await client.getManifest(`${registry.host}/test/busybox:latest`);
      expect(got.index?.descriptor.digest).toBe(image.index?.descriptor.digest);
      expect(got.descriptor.digest).toBe(image.manifest.descriptor.digest);
      expect(got.descriptor.platform?.architecture).toBe(hostPlatform().architecture);
      expect(got.bytes.equals(image.manifest.bytes)).toBe(true);
      expect(got.manifest.layers).toHaveLength(2);
    });

    it('selects the fake second platform on request and lists the offer when none matches', async () => {
      const other = image.images[1];
      const got = await client.getManifest(`${registry.host}/test/busybox:latest`, {
        platform: other?.platform,
      });
      expect(got.descriptor.digest).toBe(other?.manifest.descriptor.digest);
      const err = await client
        .getManifest(`${registry.host}/test/busybox:latest`, { platform: 'linux/mips64le' })
        .catch((e) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.kind).toBe('platform');
      expect(err.message).toContain(`${hostPlatform().os}/${hostPlatform().architecture}`);
    });

    it('fetches a manifest by digest and verifies it', async () => {
      const ref = `${registry.host}/test/busybox@${image.manifest.descriptor.digest}`;
      const got = await client.fetchManifest(ref);
      expect(got.kind).toBe('manifest');
      expect(got.descriptor.digest).toBe(image.manifest.descriptor.digest);
    });

    it('streams blobs verified for digest and size, reporting progress', async () => {
      const layer = image.layers[0];
      if (!layer) throw new Error('no layer');
      let last = 0;
      const bytes = await collect(
        client.fetchBlob(`${registry.host}/test/busybox`, layer.descriptor, {
          onProgress: (n) => (last = n),
        }),
      );
      expect(bytes.equals(layer.bytes)).toBe(true);
      expect(last).toBe(layer.descriptor.size);
    });

    it('downloadBlob hands over verified bytes from a reused buffer and reports the digest', async () => {
      const layer = image.layers[0];
      if (!layer) throw new Error('no layer');
      const copies: Buffer[] = [];
      const got = await client.downloadBlob(`${registry.host}/test/busybox`, layer.descriptor, (chunk) => {
        copies.push(Buffer.from(chunk));
      });
      expect(got).toEqual({ digest: layer.descriptor.digest, size: layer.descriptor.size });
      expect(Buffer.concat(copies).equals(layer.bytes)).toBe(true);
      // A sink that returns a promise pauses the download until it settles.
      let waits = 0;
      const slow = await client.downloadBlob(`${registry.host}/test/busybox`, layer.descriptor, async () => {
        waits++;
        await new Promise((resolve) => setTimeout(resolve, 1));
      });
      expect(slow.size).toBe(layer.descriptor.size);
      expect(waits).toBeGreaterThan(0);
      // The digest is checked before the promise resolves: a forged size never resolves.
      const wrongSize = { ...layer.descriptor, size: layer.descriptor.size + 1 };
      const err = await client
        .downloadBlob(`${registry.host}/test/busybox`, wrongSize, () => undefined)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      // A sink that throws stops the download with its error.
      const thrown = await client
        .downloadBlob(`${registry.host}/test/busybox`, layer.descriptor, () => {
          throw new Error('disk full');
        })
        .catch((e: unknown) => e);
      expect((thrown as Error).message).toBe('disk full');
    });

    it('errors with a typed digest mismatch when the content is not what the descriptor says', async () => {
      const layer = image.layers[1];
      const other = image.layers[0];
      if (!layer || !other) throw new Error('no layer');
      // The registry serves `layer`'s bytes under its digest; claim a different digest of the same size.
      const forged = { ...layer.descriptor, digest: `sha256:${'0'.repeat(64)}` };
      const err = await collect(client.fetchBlob(`${registry.host}/test/busybox`, forged)).catch((e) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.kind).toBe('not-found');
      const wrongSize = { ...layer.descriptor, size: layer.descriptor.size - 1 };
      const err2 = await collect(client.fetchBlob(`${registry.host}/test/busybox`, wrongSize)).catch(
        (e) => e,
      );
      expect(err2.kind).toBe('size-mismatch');
    });

    it('checks existence, mounts across repositories, pushes chunked, lists tags', async () => {
      const layer = image.layers[1];
      if (!layer) throw new Error('no layer');
      expect(await client.blobExists(`${registry.host}/test/busybox`, layer.descriptor.digest)).toBe(true);
      expect(await client.blobExists(`${registry.host}/test/other`, layer.descriptor.digest)).toBe(false);
      expect(await client.mountBlob(`${registry.host}/test/other`, layer.descriptor, 'test/busybox')).toBe(
        true,
      );
      expect(await client.blobExists(`${registry.host}/test/other`, layer.descriptor.digest)).toBe(true);
      const big = image.layers[0];
      if (!big) throw new Error('no layer');
      expect(
        await client.pushBlob(`${registry.host}/test/chunked`, big.bytes, big.descriptor, {
          chunked: 256 * 1024,
        }),
      ).toBe('uploaded');
      expect(await client.pushBlob(`${registry.host}/test/chunked`, big.bytes, big.descriptor)).toBe(
        'exists',
      );
      const back = await collect(client.fetchBlob(`${registry.host}/test/chunked`, big.descriptor));
      expect(back.equals(big.bytes)).toBe(true);
      await client.pushManifest(
        `${registry.host}/test/busybox:v2`,
        image.top.bytes,
        image.top.descriptor.mediaType,
      );
      expect((await client.listTags(`${registry.host}/test/busybox`, { pageSize: 1 })).sort()).toEqual([
        'latest',
        'v2',
      ]);
    });

    it('rejects a manifest whose bytes do not match the digest in the reference', async () => {
      const err = await client
        .pushManifest(
          `${registry.host}/test/busybox@${image.config.descriptor.digest}`,
          image.manifest.bytes,
          image.manifest.descriptor.mediaType,
        )
        .catch((e) => e);
      expect(err.kind).toBe('digest-mismatch');
      const missing = await client.getManifest(`${registry.host}/test/busybox:nope`).catch((e) => e);
      expect(missing).toMatchObject({ kind: 'not-found', status: 404 });
      expect(missing.codes).toContain('MANIFEST_UNKNOWN');
    });

    it('refuses a manifest above the size limit before parsing it', async () => {
      const small = new RegistryClient({
        plainHttp: true,
        credentials: staticCredentials({}),
        maxManifestBytes: 100,
      });
      const err = await small.getManifest(`${registry.host}/test/busybox:latest`).catch((e) => e);
      expect(err).toMatchObject({ kind: 'too-large' });
      await small.close();
    });

    it('pulls Docker schema2 manifest lists and manifests', async () => {
      const docker = await buildImage({
        layers: [{ entries: [{ path: 'd', type: 'file', content: 'd' }] }],
        format: 'docker',
        index: true,
      });
      await pushImage(client, `${registry.host}/test/docker`, 'v1', docker);
      const got = await client.getManifest(`${registry.host}/test/docker:v1`);
      expect(got.index?.mediaType).toBe(MediaTypes.dockerList);
      expect(got.mediaType).toBe(MediaTypes.dockerManifest);
      expect(got.descriptor.digest).toBe(docker.manifest.descriptor.digest);
    });

    it('gives the concurrency slot back when a reader stops early', async () => {
      const one = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}), concurrency: 1 });
      const layer = image.layers[0];
      if (!layer) throw new Error('no layer');
      const first = one.fetchBlob(`${registry.host}/test/busybox`, layer.descriptor);
      for await (const _ of first) break;
      const bytes = await collect(one.fetchBlob(`${registry.host}/test/busybox`, layer.descriptor));
      expect(bytes.equals(layer.bytes)).toBe(true);
      await one.close();
    });

    it('pushes a blob from a stream in one PUT', async () => {
      const layer = image.layers[0];
      if (!layer) throw new Error('no layer');
      const result = await client.pushBlob(
        `${registry.host}/test/stream`,
        Readable.from([layer.bytes.subarray(0, 1000), layer.bytes.subarray(1000)]),
        layer.descriptor,
      );
      expect(result).toBe('uploaded');
      expect(await client.blobExists(`${registry.host}/test/stream`, layer.descriptor.digest)).toBe(true);
    });

    it('continues from an offset the caller already holds, still verifying the whole digest', async () => {
      const layer = image.layers[0];
      if (!layer) throw new Error('no layer');
      const prefixHash = createHash('sha256').update(layer.bytes.subarray(0, 4096));
      const rest = await collect(
        client.fetchBlob(`${registry.host}/test/busybox`, layer.descriptor, { offset: 4096, prefixHash }),
      );
      expect(rest.equals(layer.bytes.subarray(4096))).toBe(true);
      const wrongPrefix = createHash('sha256').update(Buffer.alloc(4096));
      const err = await collect(
        client.fetchBlob(`${registry.host}/test/busybox`, layer.descriptor, {
          offset: 4096,
          prefixHash: wrongPrefix,
        }),
      ).catch((e) => e);
      expect(err.kind).toBe('digest-mismatch');
      expect(() =>
        client.fetchBlob(`${registry.host}/test/busybox`, layer.descriptor, { offset: 10 }),
      ).toThrow(RegistryError);
    });

    it('stops on abort and frees the slot', async () => {
      const one = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}), concurrency: 1 });
      const layer = image.layers[0];
      if (!layer) throw new Error('no layer');
      const controller = new AbortController();
      const stream = one.fetchBlob(`${registry.host}/test/busybox`, layer.descriptor, {
        signal: controller.signal,
        onProgress: () => controller.abort(),
      });
      const err = await collect(stream).catch((e) => e);
      expect(err.name).toBe('AbortError');
      expect(
        (await collect(one.fetchBlob(`${registry.host}/test/busybox`, layer.descriptor))).equals(layer.bytes),
      ).toBe(true);
      await one.close();
    });
  },
);
