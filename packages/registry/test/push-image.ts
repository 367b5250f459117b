import type { BuiltImage } from '@ctr/testkit';
import type { RegistryClient } from '../src/index.ts';

/** Pushes every blob and manifest of a testkit image with @ctr/registry, the top object under `tag`. */
export async function pushImage(
  client: RegistryClient,
  repo: string,
  tag: string,
  image: BuiltImage,
): Promise<void> {
  for (const img of image.images) {
    for (const blob of [...img.layers, img.config]) await client.pushBlob(repo, blob.bytes, blob.descriptor);
    if (image.index)
      await client.pushManifest(
        `${repo}@${img.manifest.descriptor.digest}`,
        img.manifest.bytes,
        img.manifest.descriptor.mediaType,
      );
  }
  await client.pushManifest(`${repo}:${tag}`, image.top.bytes, image.top.descriptor.mediaType);
}

export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
