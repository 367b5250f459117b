import {
  type BuiltImage,
  buildImage,
  type FaultProxy,
  needsCommand,
  type RegistryServer,
  runnable,
  startFaultProxy,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MediaTypes, RegistryClient, RegistryError, staticCredentials } from '../src/index.ts';
import { pushImage } from './push-image.ts';

describe.runIf(
  runnable(
    'hostile registry answers through a proxy in front of docker-registry',
    needsCommand('docker-registry'),
  ),
)('hostile answers', () => {
  let registry: RegistryServer;
  let proxy: FaultProxy;
  let image: BuiltImage;
  let client: RegistryClient;
  const MANIFEST = /\/manifests\//;

  beforeAll(async () => {
    registry = await startRegistry();
    image = await buildImage({ layers: [{ entries: [{ path: 'f', type: 'file', content: 'f' }] }] });
    const direct = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}) });
    await pushImage(direct, `${registry.host}/hostile/img`, 'latest', image);
    await direct.close();
  });
  afterAll(async () => registry?.stop());
  beforeAll(async () => {
    proxy = await startFaultProxy(registry.url);
    client = new RegistryClient({
      plainHttp: true,
      credentials: staticCredentials({}),
      retry: { attempts: 1 },
    });
  });
  afterEach(() => {
    proxy.requests.length = 0;
  });
  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
  });

  const answer = (headers: Record<string, string>, body: string | Buffer) =>
    proxy.inject({ path: MANIFEST, fault: { kind: 'respond', status: 200, headers, body } });
  const errorOf = async (p: Promise<unknown>): Promise<RegistryError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(RegistryError);
    return e as RegistryError;
  };
  const ref = () => `${proxy.host}/hostile/img:latest`;

  it('refuses a schema1 manifest with an explanation', async () => {
    answer(
      { 'content-type': MediaTypes.dockerSchema1Signed },
      JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'latest', fsLayers: [] }),
    );
    const err = await errorOf(client.getManifest(ref()));
    expect(err.kind).toBe('unsupported');
    expect(err.hint).toContain('schema1');
    answer({ 'content-type': 'application/json' }, JSON.stringify({ schemaVersion: 1, fsLayers: [] }));
    expect((await errorOf(client.getManifest(ref()))).hint).toContain('schema1');
  });

  it('refuses bytes that do not match the digest in the reference', async () => {
    const forged = Buffer.from(
      image.manifest.bytes.toString().replace('"schemaVersion":2', '"schemaVersion":2 '),
    );
    answer({ 'content-type': MediaTypes.ociManifest }, forged);
    const err = await errorOf(
      client.getManifest(`${proxy.host}/hostile/img@${image.manifest.descriptor.digest}`),
    );
    expect(err.kind).toBe('digest-mismatch');
  });

  it('refuses a Docker-Content-Digest that disagrees with the bytes', async () => {
    answer(
      { 'content-type': MediaTypes.ociManifest, 'docker-content-digest': `sha256:${'1'.repeat(64)}` },
      image.manifest.bytes,
    );
    expect((await errorOf(client.getManifest(ref()))).kind).toBe('digest-mismatch');
  });

  it('refuses an announced or actual size above the limit before parsing', async () => {
    answer(
      { 'content-type': MediaTypes.ociManifest, 'content-length': String(5 * 1024 * 1024) },
      Buffer.alloc(5 * 1024 * 1024, 0x20),
    );
    expect((await errorOf(client.getManifest(ref()))).kind).toBe('too-large');
  });

  it('refuses a Content-Type that contradicts the signed mediaType, and non-JSON', async () => {
    answer({ 'content-type': MediaTypes.ociIndex }, image.manifest.bytes);
    expect((await errorOf(client.getManifest(ref()))).kind).toBe('manifest');
    answer({ 'content-type': MediaTypes.ociManifest }, '<html>login</html>');
    expect((await errorOf(client.getManifest(ref()))).kind).toBe('manifest');
  });

  it('refuses a token realm that is not http(s), and an index entry with a path in its digest', async () => {
    proxy.inject({
      path: MANIFEST,
      fault: {
        kind: 'respond',
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="file:///etc/passwd",service="x"' },
      },
    });
    expect((await errorOf(client.getManifest(ref()))).kind).toBe('auth');
    proxy.requests.length = 0;
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [
        {
          mediaType: MediaTypes.ociManifest,
          digest: 'sha256:../../../v2/other/manifests/x',
          size: 10,
          platform: image.platform,
        },
      ],
    });
    answer({ 'content-type': MediaTypes.ociIndex }, index);
    const err = await errorOf(client.getManifest(ref()));
    expect(err.kind).toBe('unsupported');
    expect(proxy.requests).toHaveLength(1);
  });

  it('names a manifest without a mediaType field by its Content-Type or shape', async () => {
    const bare = JSON.parse(image.manifest.bytes.toString());
    delete bare.mediaType;
    const bytes = Buffer.from(JSON.stringify(bare));
    answer({ 'content-type': 'application/json' }, bytes);
    expect((await client.getManifest(ref())).mediaType).toBe(MediaTypes.ociManifest);
    answer({ 'content-type': MediaTypes.dockerManifest }, bytes);
    expect((await client.getManifest(ref())).mediaType).toBe(MediaTypes.dockerManifest);
  });
});
