import { execFileSync } from 'node:child_process';
import {
  busyboxImage,
  makeTmp,
  needsCommand,
  type RegistryServer,
  removeTmp,
  runnable,
  startRegistry,
  writeOciLayout,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, staticCredentials } from '../src/index.ts';
import { collect, pushImage } from './push-image.ts';

describe.runIf(
  runnable('registry interop with skopeo', needsCommand('docker-registry'), needsCommand('skopeo')),
)('skopeo interop', () => {
  let registry: RegistryServer;
  let client: RegistryClient;
  const dir = makeTmp();
  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}) });
  });
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
    removeTmp(dir);
  });

  it('pulls what skopeo pushed from a testkit OCI layout', async () => {
    const image = await busyboxImage({ index: true, compression: 'zstd' });
    writeOciLayout(dir, image, 'latest');
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      '--all',
      '--dest-tls-verify=false',
      `oci:${dir}:latest`,
      `docker://${registry.host}/interop/from-skopeo:latest`,
    ]);
    const got = await client.getManifest(`${registry.host}/interop/from-skopeo:latest`);
    expect(got.index).toBeDefined();
    for (const layer of got.manifest.layers) {
      const bytes = await collect(client.fetchBlob(`${registry.host}/interop/from-skopeo`, layer));
      expect(bytes.byteLength).toBe(layer.size);
    }
  });

  it('pushes what skopeo inspects', async () => {
    const image = await busyboxImage({ config: { Cmd: ['echo', 'hi'] } });
    await pushImage(client, `${registry.host}/interop/from-ctr`, 'v1', image);
    const inspected = JSON.parse(
      execFileSync(
        'skopeo',
        ['inspect', '--tls-verify=false', `docker://${registry.host}/interop/from-ctr:v1`],
        { encoding: 'utf8' },
      ),
    );
    expect(inspected.Digest).toBe(image.manifest.descriptor.digest);
    expect(inspected.Layers).toEqual(image.layers.map((l) => l.descriptor.digest));
  });
});
