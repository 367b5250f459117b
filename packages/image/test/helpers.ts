import type { BuiltImage } from '@ctr/testkit';
import type { ImageStore } from '../src/index.ts';

/** Puts a testkit image into a store the way a pull would: every blob, then the ref. */
export async function storeImage(store: ImageStore, image: BuiltImage, ref: string): Promise<void> {
  for (const { descriptor, bytes } of image.blobs.values()) await store.ingest(descriptor, bytes);
  await store.setRef(ref, image.top.descriptor);
}
