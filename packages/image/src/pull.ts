// Pull orchestration: the registry client fetches, the store verifies and keeps.
// Layers stream straight from the socket through the digest check into a temp file
// in the store; nothing is buffered whole, and a blob already present is never asked for.
import { parsePlatform, parseReference, RegistryClient, type RegistryClientOptions } from '@ctr/registry';
import type { Descriptor, ImageConfig, Platform } from '@ctr/spec';
import type { VerifiedSource } from './ingest.ts';
import type { ImageRecord, ImageStore } from './store.ts';

/** What a pull reports as it goes; `blob-progress` comes once per chunk written. */
export type PullEvent =
  | { type: 'resolved'; ref: string; manifest: Descriptor; platform: Platform; blobs: BlobInfo[] }
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

/** Runs `fn` over `items` with at most `limit` running at once; the first failure stops new starts. */
export async function eachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker),
  );
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
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
        platform: chosen ?? platform ?? { os: '', architecture: '' },
        blobs,
      });

      await eachLimited(blobs, concurrency, async (b) => {
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
        });
        emit({ type: 'blob-done', digest: b.digest, size: b.size, cached: !r.written });
      });

      await store.ingest(m.descriptor, m.bytes);
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
