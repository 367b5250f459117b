// Pull orchestration: the registry client fetches and verifies, the store keeps.
// Layers go from the socket's read buffer through the registry's digest check straight
// into a temp file in the store (one hash pass, no stream, no copy); nothing is
// buffered whole, and a blob already present is never asked for.
import { dirname } from 'node:path';
import { parsePlatform, parseReference, RegistryClient, type RegistryClientOptions } from '@ctr/registry';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '@ctr/spec';
import type { VerifiedSource } from './ingest.ts';
import { fsyncDir } from './layout.ts';
import type { ImageRecord, ImageStore } from './store.ts';

/**
 * What a pull reports as it goes; `blob-progress` comes once per chunk written. `resolved`
 * carries the parsed manifest (`content`) so a consumer knows the layers before any blob
 * arrives, and `blob-done` says the store holds a verified blob, readable from then on.
 */
export type PullEvent =
  | {
      type: 'resolved';
      ref: string;
      manifest: Descriptor;
      content: ImageManifest;
      platform: Platform;
      blobs: BlobInfo[];
    }
  | { type: 'blob-start'; digest: string; size: number; kind: BlobKind }
  | { type: 'blob-progress'; digest: string; bytes: number; size: number }
  | { type: 'blob-wait'; digest: string }
  | { type: 'blob-done'; digest: string; size: number; cached: boolean }
  | { type: 'done'; record: ImageRecord };

export type BlobKind = 'config' | 'layer';
export interface BlobInfo {
  digest: string;
  size: number;
  kind: BlobKind;
}

export interface RegistryAccess {
  /** A client to reuse (its connections, tokens and concurrency limit); else one is made from `clientOptions`. */
  client?: RegistryClient;
  clientOptions?: RegistryClientOptions;
  signal?: AbortSignal;
}

export interface PullOptions extends RegistryAccess {
  /** `os/arch[/variant]` or a Platform; default: this host. */
  platform?: Platform | string;
  /** Blobs downloaded at once (default 3). */
  concurrency?: number;
  onProgress?: (event: PullEvent) => void;
}

/**
 * Runs `fn` over `items` with at most `limit` running at once; the first failure stops
 * new starts. `fn` may give its slot back early with `release` (a blob whose bytes are
 * in frees its download slot while its fsync runs), so the next item starts beside it.
 */
export async function eachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T, release: () => void) => Promise<void>,
): Promise<void> {
  const max = Math.max(1, limit);
  let active = 0;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const running: Promise<void>[] = [];
  for (const item of items) {
    while (active >= max) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) break;
    active++;
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      active--;
      const w = wake;
      wake = undefined;
      w?.();
    };
    running.push(
      fn(item, release)
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(release),
    );
  }
  await Promise.all(running);
  if (failure) throw failure.error;
}

export async function withClient<T>(
  access: RegistryAccess,
  concurrency: number,
  fn: (c: RegistryClient) => Promise<T>,
): Promise<T> {
  if (access.client) return fn(access.client);
  const client = new RegistryClient({ concurrency, ...access.clientOptions });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/**
 * Pulls one platform's image into the store and names it with the full reference.
 * The store's gc lease is held from the first blob to the new ref, so a concurrent
 * gc cannot take layers that are not referenced yet.
 */
export async function pullImage(
  store: ImageStore,
  input: string,
  opts: PullOptions = {},
): Promise<ImageRecord> {
  const ref = parseReference(input);
  const name = ref.toString();
  const concurrency = opts.concurrency ?? 3;
  const emit = opts.onProgress ?? (() => undefined);
  const platform = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  return withClient(opts, concurrency, async (client) => {
    const signal = opts.signal ? { signal: opts.signal } : {};
    const m = await client.getManifest(ref, { ...(platform ? { platform } : {}), ...signal });
    const lease = await store.lease();
    try {
      const blobs: BlobInfo[] = [
        { digest: m.manifest.config.digest, size: m.manifest.config.size, kind: 'config' },
      ];
      for (const l of m.manifest.layers) {
        if (!blobs.some((b) => b.digest === l.digest))
          blobs.push({ digest: l.digest, size: l.size, kind: 'layer' });
      }
      const descriptors = new Map([m.manifest.config, ...m.manifest.layers].map((d) => [d.digest, d]));
      const chosen =
        m.descriptor.platform ??
        m.index?.index.manifests.find((d) => d.digest === m.descriptor.digest)?.platform;
      emit({
        type: 'resolved',
        ref: name,
        manifest: m.descriptor,
        content: m.manifest,
        platform: chosen ?? platform ?? { os: '', architecture: '' },
        blobs,
      });

      // The largest blob first, then the rest smallest first: the small ones cost a
      // round trip each, which then overlaps the big download instead of trailing it.
      const bySize = [...blobs].sort((a, b) => a.size - b.size);
      const largest = bySize.pop();
      const order = largest ? [largest, ...bySize] : bySize;
      // The manifest is stored beside the layers rather than after them, and blobs/<alg>/
      // is fsynced once for every blob below instead of once per blob: both were
      // sequential fsyncs at the end of every pull.
      const manifestStored = store.ingest(m.descriptor, m.bytes, { syncDirectory: false });
      const downloads = eachLimited(order, concurrency, async (b, release) => {
        const desc = descriptors.get(b.digest)!;
        emit({ type: 'blob-start', digest: b.digest, size: b.size, kind: b.kind });
        // The registry verifies digest and size while the bytes stream to the store's file.
        const source: VerifiedSource = {
          verified: true,
          download: (write, resume) =>
            client.downloadBlob(ref, desc, write, {
              ...signal,
              ...(resume ? { offset: resume.offset, prefixHash: resume.prefixHash } : {}),
            }),
        };
        const r = await store.ingest(desc, source, {
          resumable: true,
          onBytes: (bytes) => emit({ type: 'blob-progress', digest: b.digest, bytes, size: b.size }),
          onWait: () => emit({ type: 'blob-wait', digest: b.digest }),
          onWritten: release,
          syncDirectory: false,
        });
        emit({ type: 'blob-done', digest: b.digest, size: b.size, cached: !r.written });
      });
      await Promise.all([manifestStored, downloads]);
      // Also when nothing was downloaded: another pull may have renamed these blobs and not
      // synced the directory yet, and the ref written next must never outlive them.
      const dirs = new Set(
        [m.descriptor, ...descriptors.values()].map((d) => dirname(store.layout.blobPath(d.digest))),
      );
      await Promise.all([...dirs].map(fsyncDir));
      const config = await store.readJson<ImageConfig>(m.manifest.config);
      const plat: Platform = chosen ?? {
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
      };
      const entry: Descriptor = {
        mediaType: m.mediaType,
        digest: m.descriptor.digest,
        size: m.descriptor.size,
        platform: plat,
      };
      await store.setRef(name, entry);
      const record: ImageRecord = {
        ref: name,
        digest: entry.digest,
        mediaType: entry.mediaType,
        size: entry.size + blobs.reduce((n, b) => n + b.size, 0),
        platform: plat,
        layers: m.manifest.layers.length,
        ...(config.created ? { created: config.created } : {}),
      };
      emit({ type: 'done', record });
      return record;
    } finally {
      lease.release();
    }
  });
}
