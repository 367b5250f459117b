import type { BuiltImage, Descriptor } from './image-builder.ts';

/** What pushing needs of a registry client (@ctr/registry's RegistryClient fits). */
export interface ImagePusher {
  pushBlob(ref: string, bytes: Buffer, descriptor: Descriptor): Promise<unknown>;
  pushManifest(ref: string, bytes: Buffer, mediaType: string): Promise<unknown>;
}

/**
 * Pushes every blob and manifest of a built image to `repo`, the top object (index or
 * manifest) under `tag`; with an index, each platform's manifest by digest first.
 */
export async function pushBuiltImage(
  client: ImagePusher,
  repo: string,
  tag: string,
  image: BuiltImage,
): Promise<void> {
  for (const img of image.images) {
    for (const blob of [...img.layers, img.config]) await client.pushBlob(repo, blob.bytes, blob.descriptor);
    if (image.index) {
      await client.pushManifest(
        `${repo}@${img.manifest.descriptor.digest}`,
        img.manifest.bytes,
        img.manifest.descriptor.mediaType,
      );
    }
  }
  await client.pushManifest(`${repo}:${tag}`, image.top.bytes, image.top.descriptor.mediaType);
}
