// `ctr unpack`: an image of the store → a root filesystem, through @ctr/unpack.
// Composition only; the unpacking rules live in @ctr/unpack.
import { closeSync, existsSync, fstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ImageStore, PullEvent, ResolvedImage } from '@ctr/image';
import type { Descriptor, ImageConfig, Platform } from '@ctr/spec';
import { AT, CtrError, close, O, openat, openat2, RESOLVE } from '@ctr/sys';
import { type IdMap, type LayerSource, SnapshotStore, type UnpackResult, unpackLayers } from '@ctr/unpack';
import { PullWatch } from './pull-watch.ts';

export type UnpackMode = 'flat' | 'overlay';

/** A pull of `ref` into the store that reports its progress to `onEvent` (or ignores it). */
export type PullIntoStore = (ref: string, onEvent: (event: PullEvent) => void) => Promise<unknown>;

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
  /**
   * Called when the image is not in the store yet (normally a registry pull into it).
   * Passing `onEvent` on as the pull's `onProgress` lets each layer unpack as soon as
   * it is stored; a pull that ignores it is awaited whole, then unpacked.
   */
  pull?: PullIntoStore | undefined;
}

export interface UnpackedImage extends UnpackResult {
  image: ResolvedImage;
}

/** Overlay snapshots when none are named: $CTR_SNAPSHOTS or /var/lib/ctr-snapshots. */
export const defaultSnapshotsDir = (): string => process.env.CTR_SNAPSHOTS ?? '/var/lib/ctr-snapshots';

/** Resolves `ref` in the store (pulling it first when missing) and unpacks its layers. */
export async function unpackImage(opts: UnpackImageOptions): Promise<UnpackedImage> {
  const resolveOpts = opts.platform ? { platform: opts.platform } : {};
  let image: ResolvedImage;
  try {
    image = await opts.store.resolve(opts.ref, resolveOpts);
  } catch (e) {
    if (!opts.pull || !(e instanceof CtrError) || e.stage !== 'image') throw e;
    return pullAndUnpack(opts, opts.pull, resolveOpts);
  }
  return unpackStored(opts, image);
}

async function unpackStored(opts: UnpackImageOptions, image: ResolvedImage): Promise<UnpackedImage> {
  const result = await unpack(opts, image.manifest.layers, image.config.rootfs.diff_ids, (d) =>
    opts.store.openBlob(d),
  );
  return { ...result, image };
}

/**
 * Pulls the image and unpacks each layer as soon as the store holds it, while the
 * other blobs still download. When the pull fails, the layers waiting on it fail with
 * its error, that error is the one reported, and nothing unpacked outlives it (a fill
 * in progress is removed by unpackLayers, a finished root by discard).
 */
async function pullAndUnpack(
  opts: UnpackImageOptions,
  pull: PullIntoStore,
  resolveOpts: { platform?: Platform },
): Promise<UnpackedImage> {
  const watch = new PullWatch(pull, opts.ref);
  const targetExisted = existsSync(opts.target);
  let result: UnpackResult | undefined;
  try {
    const chosen = await watch.chosen();
    if (!chosen) return await unpackStored(opts, await opts.store.resolve(opts.ref, resolveOpts));
    await watch.stored(chosen.manifest.config.digest);
    const config = await opts.store.readJson<ImageConfig>(chosen.manifest.config);
    result = await unpack(opts, chosen.manifest.layers, config.rootfs.diff_ids, async (d) => {
      await watch.stored(d.digest);
      return opts.store.openBlob(d);
    });
    await watch.done;
    const image = await opts.store.resolve(opts.ref, resolveOpts);
    if (image.descriptor.digest !== chosen.descriptor.digest) {
      throw new CtrError({
        stage: 'containers',
        op: `unpack ${opts.ref}`,
        path: opts.target,
        hint: `the name was pointed at ${image.descriptor.digest} while ${chosen.descriptor.digest} was unpacked (another pull or tag at the same time); run again`,
      });
    }
    return { ...result, image };
  } catch (e) {
    if (result) discard(opts, result, targetExisted);
    // A failed pull's own error wins over what it made the unpack fail with, and an
    // unpack that failed on its own leaves no pull running behind the caller's back.
    await watch.done;
    throw e;
  }
}

/**
 * The store verified each blob when it entered; the unpacker checks every layer's
 * uncompressed digest against the config's diff_ids, which the manifest digest
 * covers, so `open` need not hash the compressed bytes again: that would add cost,
 * not safety.
 */
function unpack(
  opts: UnpackImageOptions,
  layers: readonly Descriptor[],
  diffIds: readonly string[],
  open: (layer: Descriptor) => Readable | Promise<Readable>,
): Promise<UnpackResult> {
  const sources: LayerSource[] = layers.map((descriptor) => ({ descriptor, open: () => open(descriptor) }));
  return unpackLayers(sources, opts.target, {
    mode: opts.mode ?? 'flat',
    diffIds,
    snapshotsDir: opts.snapshotsDir ?? defaultSnapshotsDir(),
    id: opts.id,
    idMap: opts.idMap,
  });
}

/** Undoes a finished unpack: the overlay root and its hold, or the flat tree, and a target it made. */
function discard(opts: UnpackImageOptions, result: UnpackResult, targetExisted: boolean): void {
  if (result.id !== undefined) {
    // What the mount hid under a mount point that existed is the caller's, and stays.
    new SnapshotStore(opts.snapshotsDir ?? defaultSnapshotsDir()).unmountRoot(result.id, result.rootfs);
  } else if (targetExisted) {
    // unpackLayers fills only an empty flat target: everything in it is the image's.
    for (const name of readdirSync(result.rootfs))
      rmSync(join(result.rootfs, name), { recursive: true, force: true });
  }
  if (!targetExisted) rmSync(result.rootfs, { recursive: true, force: true });
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
