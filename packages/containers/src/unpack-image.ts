// `ctr unpack`: an image of the store → a root filesystem, through @ctr/unpack.
// Composition only; the unpacking rules live in @ctr/unpack.
import { closeSync, fstatSync, readFileSync } from 'node:fs';
import type { ImageStore, ResolvedImage } from '@ctr/image';
import type { Platform } from '@ctr/spec';
import { AT, CtrError, close, O, openat, openat2, RESOLVE } from '@ctr/sys';
import { type IdMap, type LayerSource, type UnpackResult, unpackLayers } from '@ctr/unpack';

export type UnpackMode = 'flat' | 'overlay';

export interface UnpackImageOptions {
  store: ImageStore;
  ref: string;
  /** The directory that becomes the root filesystem. */
  target: string;
  /** Default 'flat': a plain directory, no mount left behind. */
  mode?: UnpackMode | undefined;
  /** Where overlay snapshots live; default defaultSnapshotsDir(). */
  snapshotsDir?: string | undefined;
  /** Name of the overlay container root in the snapshot store. */
  id?: string | undefined;
  platform?: Platform | undefined;
  idMap?: IdMap | undefined;
  /** Called when the image is not in the store yet (normally a registry pull into it). */
  pull?: ((ref: string) => Promise<unknown>) | undefined;
}

export interface UnpackedImage extends UnpackResult {
  image: ResolvedImage;
}

/** Overlay snapshots when none are named: $CTR_SNAPSHOTS or /var/lib/ctr-snapshots. */
export const defaultSnapshotsDir = (): string => process.env.CTR_SNAPSHOTS ?? '/var/lib/ctr-snapshots';

/** Resolves `ref` in the store (pulling it first when missing) and unpacks its layers. */
export async function unpackImage(opts: UnpackImageOptions): Promise<UnpackedImage> {
  const image = await resolveOrPull(opts);
  const layers: LayerSource[] = image.manifest.layers.map((descriptor) => ({
    descriptor,
    // The store verified each blob when it entered; the unpacker checks every layer's
    // uncompressed digest against the config's diff_ids, which the manifest digest
    // covers, so a second hash of the compressed bytes would add cost, not safety.
    open: () => opts.store.openBlob(descriptor),
  }));
  const result = await unpackLayers(layers, opts.target, {
    mode: opts.mode ?? 'flat',
    diffIds: image.config.rootfs.diff_ids,
    snapshotsDir: opts.snapshotsDir ?? defaultSnapshotsDir(),
    id: opts.id,
    idMap: opts.idMap,
  });
  return { ...result, image };
}

async function resolveOrPull(opts: UnpackImageOptions): Promise<ResolvedImage> {
  const resolveOpts = opts.platform ? { platform: opts.platform } : {};
  try {
    return await opts.store.resolve(opts.ref, resolveOpts);
  } catch (e) {
    if (!opts.pull || !(e instanceof CtrError) || e.stage !== 'image') throw e;
  }
  await opts.pull(opts.ref);
  return opts.store.resolve(opts.ref, resolveOpts);
}

// passwd and group are read to resolve the image's User; nothing legitimate is larger.
const MAX_ID_FILE = 4 << 20;

/**
 * Reads a file of an unpacked root filesystem, resolved inside it: the rootfs comes
 * from the image, and its etc/passwd may be a symlink to the host's.
 */
export function readRootfsFile(rootfs: string, path: string): string | undefined {
  const root = openat(AT.FDCWD, rootfs, O.PATH | O.DIRECTORY);
  let fd: number;
  try {
    fd = openat2(root, path, {
      flags: O.RDONLY | O.NOFOLLOW | O.NONBLOCK,
      resolve: RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS,
    });
  } catch (e) {
    if (e instanceof CtrError && (e.code === 'ENOENT' || e.code === 'ELOOP' || e.code === 'ENOTDIR')) {
      return undefined;
    }
    throw e;
  } finally {
    close(root);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_ID_FILE) return undefined;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
