import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { applyLayer } from './apply-layer.ts';
import { chainIds } from './chain-id.ts';
import { unpackError } from './errors.ts';
import type { IdMap } from './idmap.ts';
import { applyHere, type LayerApplier, LayerThread } from './layer-threads.ts';
import type { UnpackLimits } from './limits.ts';
import { copyLowerLinks, inheritImplicitDirs, type LowerLink } from './lower-layers.ts';
import type { OverlayMount } from './overlay.ts';
import { SnapshotStore } from './snapshots.ts';

/** A layer as the image store hands it out: its descriptor and a way to stream it. */
export interface LayerSource {
  descriptor: { mediaType: string; digest: string; size?: number };
  open(): Readable | Promise<Readable>;
}

export interface UnpackLayersOptions {
  /** 'flat': one plain directory (like umoci unpack); 'overlay': snapshots + an overlayfs mount. */
  mode: 'flat' | 'overlay';
  /** The image config's rootfs.diff_ids, one per layer. */
  diffIds: readonly string[];
  /** The snapshot store directory (overlay mode). */
  snapshotsDir?: string | undefined;
  /** Name of the container root in the snapshot store; default derived from the target path. */
  id?: string | undefined;
  idMap?: IdMap | undefined;
  limits?: Partial<UnpackLimits> | undefined;
  /**
   * Layers unpacked at the same time in overlay mode, each into its own snapshot: one
   * on the calling thread, the others on worker threads; default one per core, at
   * least two.
   */
  concurrency?: number | undefined;
}

export interface UnpackResult {
  rootfs: string;
  chainIds: string[];
  /** Overlay mode: the mount to undo with `SnapshotStore.unmountRoot(id, rootfs)`. */
  mount?: OverlayMount;
  /** Overlay mode: the root's name in the snapshot store. */
  id?: string;
}

/**
 * Unpacks an image's layers into `target`. Every layer is checked against its
 * diff_id; a failure removes what was written (the flat target, or the snapshot
 * being filled). In overlay mode each layer not already on disk is unpacked into its
 * own snapshot concurrently, and `target` becomes an overlayfs mount of them.
 */
export async function unpackLayers(
  layers: readonly LayerSource[],
  target: string,
  opts: UnpackLayersOptions,
): Promise<UnpackResult> {
  if (layers.length !== opts.diffIds.length) {
    throw unpackError(
      'unpack image',
      target,
      `${layers.length} layers but ${opts.diffIds.length} rootfs.diff_ids; the manifest and config disagree`,
    );
  }
  const chain = chainIds(opts.diffIds);
  return opts.mode === 'flat'
    ? unpackFlat(layers, target, opts, chain)
    : unpackOverlay(layers, target, opts, chain);
}

async function unpackFlat(
  layers: readonly LayerSource[],
  target: string,
  opts: UnpackLayersOptions,
  chain: string[],
): Promise<UnpackResult> {
  const created = !existsSync(target);
  if (!created && readdirSync(target).length > 0) {
    throw unpackError('unpack image', target, 'the target directory is not empty');
  }
  mkdirSync(target, { recursive: true, mode: 0o755 });
  try {
    for (const [i, layer] of layers.entries()) {
      await applyLayer(target, await layer.open(), {
        mediaType: layer.descriptor.mediaType,
        expectedDiffId: opts.diffIds[i],
        idMap: opts.idMap,
        limits: opts.limits,
        whiteouts: 'flat',
        layer: layer.descriptor.digest,
      });
    }
  } catch (e) {
    if (created) rmSync(target, { recursive: true, force: true });
    else
      for (const name of readdirSync(target)) rmSync(resolve(target, name), { recursive: true, force: true });
    throw e;
  }
  return { rootfs: target, chainIds: chain };
}

async function unpackOverlay(
  layers: readonly LayerSource[],
  target: string,
  opts: UnpackLayersOptions,
  chain: string[],
): Promise<UnpackResult> {
  if (opts.snapshotsDir === undefined) {
    throw unpackError('unpack image', target, 'overlay mode needs snapshotsDir');
  }
  const store = new SnapshotStore(opts.snapshotsDir);
  const release = await store.lease();
  try {
    return await fillAndMount(store, layers, target, opts, chain);
  } finally {
    release();
  }
}

async function fillAndMount(
  store: SnapshotStore,
  layers: readonly LayerSource[],
  target: string,
  opts: UnpackLayersOptions,
  chain: string[],
): Promise<UnpackResult> {
  const keys = chain.map((c) => snapshotKey(c, opts.idMap));
  // Phase 1, concurrent: every missing layer into its own fresh directory, largest
  // first so the lanes finish together. One lane is this thread; the others are worker
  // threads, which boot while this one already works.
  const fills: ({ tmp: string; implicitDirs: string[]; lowerLinks: LowerLink[] } | undefined)[] = layers.map(
    () => undefined,
  );
  const queue = layers
    .map((_, i) => i)
    .filter((i) => !store.has(keys[i]!))
    .sort((a, b) => (layers[b]!.descriptor.size ?? 0) - (layers[a]!.descriptor.size ?? 0));
  const lanes = Math.min(Math.max(1, opts.concurrency ?? defaultConcurrency()), queue.length);
  const threads = Array.from({ length: Math.max(0, lanes - 1) }, () => new LayerThread());
  const appliers: LayerApplier[] = [applyHere, ...threads.map((t) => t.apply.bind(t))];
  const failure = new AbortController();
  let firstError: { error: unknown } | undefined;
  const lane = async (apply: LayerApplier): Promise<void> => {
    for (let i = queue.shift(); i !== undefined && !failure.signal.aborted; i = queue.shift()) {
      const layer = layers[i]!;
      try {
        const tmp = store.begin(keys[i]!);
        fills[i] = { tmp, implicitDirs: [], lowerLinks: [] };
        const res = await apply(
          tmp,
          await layer.open(),
          {
            mediaType: layer.descriptor.mediaType,
            expectedDiffId: opts.diffIds[i],
            idMap: opts.idMap,
            limits: opts.limits,
            whiteouts: 'overlay',
            layer: layer.descriptor.digest,
          },
          failure.signal,
        );
        fills[i]!.implicitDirs = res.implicitDirs;
        fills[i]!.lowerLinks = res.lowerLinks;
      } catch (e) {
        // The first failure is the one to report; the others are its aborts.
        firstError ??= { error: e };
        failure.abort();
      }
    }
  };
  // Every lane settles before anything is removed: a thread may still hold fds in its snapshot.
  await Promise.all(appliers.slice(0, lanes).map(lane));
  await Promise.all(threads.map((t) => t.close()));
  try {
    if (firstError) throw firstError.error;
    // Phase 2, in order: implicit parents and links to lower files are settled from the
    // snapshots below, then each is committed.
    const dirs: string[] = [];
    for (const [i, fill] of fills.entries()) {
      if (fill) {
        const lowers = [...dirs].reverse();
        inheritImplicitDirs(fill.tmp, fill.implicitDirs, lowers);
        copyLowerLinks(fill.tmp, fill.lowerLinks, lowers);
        dirs.push(store.commit(keys[i]!, fill.tmp));
      } else dirs.push(store.path(keys[i]!));
    }
  } catch (e) {
    for (const fill of fills) if (fill) store.abort(fill.tmp);
    throw e;
  }
  mkdirSync(target, { recursive: true });
  const id = opts.id ?? createHash('sha256').update(resolve(target)).digest('hex').slice(0, 16);
  const mount = store.mountRoot(id, keys, target);
  return { rootfs: target, chainIds: chain, mount, id };
}

/**
 * Lanes when none are asked for: one per core, and at least two, so the
 * layers keep a fair share of a loaded machine (CFS schedules threads, not processes).
 */
function defaultConcurrency(): number {
  return Math.max(2, availableParallelism());
}

/**
 * The snapshot key of a chain ID: the chain ID itself, or with a suffix naming the
 * id map, since shifted owners make a different tree from the same layers.
 */
export function snapshotKey(chainId: string, idMap?: IdMap): string {
  if (!idMap) return chainId;
  return `${chainId}-${createHash('sha256').update(JSON.stringify(idMap)).digest('hex').slice(0, 12)}`;
}
