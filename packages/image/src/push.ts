import { parseReference } from '@ctr/registry';
import { type Descriptor, type ImageIndex, type ImageManifest, INDEX_MEDIA_TYPES } from '@ctr/spec';
import { imageError } from './errors.ts';
import { eachLimited, type RegistryAccess, withClient } from './pull.ts';
import type { ImageStore } from './store.ts';

export type PushEvent =
  | { type: 'blob-start'; digest: string; size: number }
  | { type: 'blob-done'; digest: string; size: number; result: 'exists' | 'mounted' | 'uploaded' }
  | { type: 'manifest'; digest: string; ref: string };

export interface PushOptions extends RegistryAccess {
  concurrency?: number;
  onProgress?: (event: PushEvent) => void;
}

/**
 * Pushes the image a local ref names to `target` (default: the same reference):
 * blobs first, each streamed from the store and re-verified on the way out, then
 * child manifests by digest, then the top manifest or index under the target's tag.
 */
export async function pushImage(
  store: ImageStore,
  local: string,
  target = local,
  opts: PushOptions = {},
): Promise<Descriptor> {
  const top = await store.lookup(local);
  const dest = parseReference(target);
  const emit = opts.onProgress ?? (() => undefined);
  const concurrency = opts.concurrency ?? 3;
  return withClient(opts, concurrency, async (client) => {
    const signal = opts.signal ? { signal: opts.signal } : {};
    const pushManifestTree = async (d: Descriptor, asRef: string): Promise<Descriptor> => {
      if (!(await store.hasBlob(d))) {
        throw imageError(
          `push ${local}`,
          `manifest ${d.digest} is not in the store; pull that platform first`,
        );
      }
      if (INDEX_MEDIA_TYPES.includes(d.mediaType)) {
        const index = await store.readJson<ImageIndex>(d);
        for (const child of index.manifests) {
          if (await store.hasBlob(child))
            await pushManifestTree(child, `${dest.registry}/${dest.repository}@${child.digest}`);
        }
      } else {
        const m = await store.readJson<ImageManifest>(d);
        const blobs = [m.config, ...m.layers].filter(
          (b, i, all) => all.findIndex((x) => x.digest === b.digest) === i,
        );
        await eachLimited(blobs, concurrency, async (b) => {
          emit({ type: 'blob-start', digest: b.digest, size: b.size });
          const result = await client.pushBlob(dest, () => store.openBlob(b, { verify: true }), b, signal);
          emit({ type: 'blob-done', digest: b.digest, size: b.size, result });
        });
      }
      const pushed = await client.pushManifest(asRef, await store.readBlob(d), d.mediaType, signal);
      emit({ type: 'manifest', digest: pushed.digest, ref: asRef });
      return pushed;
    };
    return pushManifestTree(top, dest.toString());
  });
}
