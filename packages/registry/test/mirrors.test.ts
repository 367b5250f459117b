import {
  type BuiltImage,
  buildImage,
  needsCommand,
  type RegistryServer,
  runnable,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, staticCredentials } from '../src/index.ts';
import { collect, pushImage } from './push-image.ts';

describe.runIf(
  runnable('registry mirrors against two docker-registry instances', needsCommand('docker-registry')),
)('mirrors', () => {
  let origin: RegistryServer;
  let mirror: RegistryServer;
  let image: BuiltImage;
  let mirrored: BuiltImage;

  beforeAll(async () => {
    [origin, mirror] = await Promise.all([startRegistry(), startRegistry()]);
    image = await buildImage({ layers: [{ entries: [{ path: 'origin', type: 'file', content: 'o' }] }] });
    mirrored = await buildImage({ layers: [{ entries: [{ path: 'mirror', type: 'file', content: 'm' }] }] });
    const direct = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}) });
    await pushImage(direct, `${origin.host}/lib/app`, 'only-origin', image);
    await pushImage(direct, `${mirror.host}/lib/app`, 'both', mirrored);
    await pushImage(direct, `${origin.host}/lib/app`, 'both', image);
    await direct.close();
  });
  afterAll(async () => {
    await origin?.stop();
    await mirror?.stop();
  });

  it('pulls from the mirror first and falls back to the registry when the mirror lacks the content', async () => {
    const client = new RegistryClient({
      credentials: staticCredentials({}),
      mirrors: { [origin.host]: [`http://${mirror.host}`] },
      plainHttp: [origin.host],
    });
    const both = await client.getManifest(`${origin.host}/lib/app:both`);
    expect(both.descriptor.digest).toBe(mirrored.manifest.descriptor.digest);
    const only = await client.getManifest(`${origin.host}/lib/app:only-origin`);
    expect(only.descriptor.digest).toBe(image.manifest.descriptor.digest);
    const layer = image.layers[0];
    if (!layer) throw new Error('no layer');
    expect(
      (await collect(client.fetchBlob(`${origin.host}/lib/app`, layer.descriptor))).equals(layer.bytes),
    ).toBe(true);
    await client.close();
  });
});
