import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { formatPlatform, hostPlatform, platformMatches } from '@ctr/registry';
import {
  Annotation,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  INDEX_MEDIA_TYPES,
  isValidDigest,
  MANIFEST_MEDIA_TYPES,
  MediaType,
  type Platform,
} from '@ctr/spec';
import type { ImportedImage, ImportOptions } from './archive.ts';
import { DigestVerifier, digestOf } from './digest.ts';
import { imageError, nodeCode } from './errors.ts';
import {
  type BlobSource,
  blobPresent,
  type IngestOptions,
  type IngestResult,
  ingestBlob,
  ingestComputed,
  type StreamSource,
} from './ingest.ts';
import { GC_LOCK, INDEX_LOCK, Layout } from './layout.ts';
import { acquireLock, type Lock, withLock } from './lock.ts';
import { type PullOptions, pullImage } from './pull.ts';
import { type PushOptions, pushImage } from './push.ts';
import { canonicalRef } from './refs.ts';

/** JSON blobs (manifests, configs, indexes) are read into memory; nothing legitimate is this big. */
const MAX_JSON_BLOB = 8 << 20;

/** An image as listed: one named entry of index.json. */
export interface ImageRecord {
  ref: string;
  /** Digest of what the ref points at (a manifest or an index). */
  digest: string;
  mediaType: string;
  /** Manifest, config and layers in bytes (compressed, as stored). */
  size: number;
  platform?: Platform;
  created?: string;
  layers: number;
}

/** A ref (or digest) resolved down to one platform's manifest and config. */
export interface ResolvedImage {
  ref?: string;
  /** The descriptor of the platform manifest. */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  platform: Platform;
  /** Set when the ref names an index; `descriptor` is then the chosen child. */
  index?: { descriptor: Descriptor; index: ImageIndex };
}

export interface ImageInspection extends ResolvedImage {
  layers: Descriptor[];
  /** Manifest + config + layers. */
  size: number;
  /** Every platform the ref offers (one for a plain manifest). */
  platforms: Platform[];
}

export interface GcResult {
  removed: string[];
  bytesFreed: number;
}

export interface ResolveOptions {
  platform?: Platform;
}

/** The store root when none is given: $CTR_STORE or /var/lib/ctr. */
export const defaultStoreRoot = (): string => process.env.CTR_STORE ?? '/var/lib/ctr';

/** Opens (creating if needed) the OCI image layout at `root`. */
export function openStore(root: string = defaultStoreRoot()): ImageStore {
  const store = new ImageStore(root);
  store.layout.init();
  return store;
}

export class ImageStore {
  readonly root: string;
  readonly layout: Layout;

  constructor(root: string) {
    this.root = root;
    this.layout = new Layout(root);
  }

  /**
   * Holds the store's gc lock shared until released: blobs ingested under a lease are
   * safe from a concurrent gc until the caller has tagged them.
   */
  lease(): Promise<Lock> {
    return acquireLock(this.layout.lockPath(GC_LOCK), 'shared');
  }

  async ingest(desc: Descriptor, source: BlobSource, opts?: IngestOptions): Promise<IngestResult> {
    const lease = await this.lease();
    try {
      return await ingestBlob(this.layout, desc, source, opts);
    } finally {
      lease.release();
    }
  }

  /** Stores content whose digest is computed while writing (sha256). */
  async ingestUnknown(mediaType: string, source: StreamSource, opts?: IngestOptions): Promise<IngestResult> {
    const lease = await this.lease();
    try {
      return await ingestComputed(this.layout, mediaType, source, opts);
    } finally {
      lease.release();
    }
  }

  /** Stores an in-memory blob (a manifest or config) and returns its descriptor. */
  async putBytes(mediaType: string, bytes: Uint8Array): Promise<Descriptor> {
    const descriptor: Descriptor = { mediaType, digest: digestOf(bytes), size: bytes.length };
    await this.ingest(descriptor, bytes);
    return descriptor;
  }

  hasBlob(desc: Pick<Descriptor, 'digest'> & { size?: number }): Promise<boolean> {
    return blobPresent(this.layout, { digest: desc.digest, size: desc.size ?? -1 });
  }

  /** A stream of a stored blob; `verify` re-hashes it and fails the stream on a mismatch. */
  openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, opts: { verify?: boolean } = {}): Readable {
    const path = this.layout.blobPath(desc.digest);
    const file = createReadStream(path, { highWaterMark: 1 << 20 });
    if (!opts.verify) return file;
    const verifier = new DigestVerifier({ expected: desc.digest, expectedSize: desc.size });
    file.on('error', (e) => verifier.destroy(e));
    return file.pipe(verifier);
  }

  /** Reads and verifies a small blob. */
  async readBlob(desc: Pick<Descriptor, 'digest'> & { size?: number }): Promise<Buffer> {
    const path = this.layout.blobPath(desc.digest);
    let bytes: Buffer;
    try {
      const st = await stat(path);
      if (st.size > MAX_JSON_BLOB)
        throw imageError(
          `read ${desc.digest}`,
          `larger than ${MAX_JSON_BLOB} bytes; not a manifest or config`,
          path,
        );
      bytes = await readFile(path);
    } catch (e) {
      if (nodeCode(e) === 'ENOENT') {
        throw imageError(
          `read blob ${desc.digest}`,
          'the blob is not in the store; pull the image again',
          path,
        );
      }
      throw e instanceof Error && 'stage' in e
        ? e
        : imageError(`read blob ${desc.digest}`, undefined, path, e);
    }
    // Re-verified on every read: a manifest decides what else is trusted.
    if (digestOf(bytes, desc.digest.startsWith('sha512:') ? 'sha512' : 'sha256') !== desc.digest) {
      throw imageError(
        `verify ${desc.digest}`,
        'the stored blob does not match its digest; the store is corrupt (remove it and pull again)',
        path,
      );
    }
    return bytes;
  }

  async readJson<T>(desc: Pick<Descriptor, 'digest'> & { size?: number }): Promise<T> {
    const bytes = await this.readBlob(desc);
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (e) {
      throw imageError(`parse ${desc.digest}`, `not JSON: ${(e as Error).message}`);
    }
  }

  readIndex(): Promise<ImageIndex> {
    return this.layout.readIndex();
  }

  /** Read-modify-write of index.json under the index lock. */
  async updateIndex(change: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
    await withLock(this.layout.lockPath(INDEX_LOCK), 'exclusive', async () => {
      const index = await this.layout.readIndex();
      index.manifests = change(index.manifests);
      await this.layout.writeIndex(index);
    });
  }

  /** Points `ref` at `desc` in index.json, replacing what it named before. */
  async setRef(ref: string, desc: Descriptor): Promise<void> {
    const name = canonicalRef(ref);
    const entry: Descriptor = { ...desc, annotations: { ...desc.annotations, [Annotation.RefName]: name } };
    await this.updateIndex((ms) => [
      ...ms.filter((m) => m.annotations?.[Annotation.RefName] !== name),
      entry,
    ]);
  }

  /** The index.json entry a ref or manifest digest names. */
  async lookup(refOrDigest: string): Promise<Descriptor> {
    const index = await this.layout.readIndex();
    if (isValidDigest(refOrDigest)) {
      const hit = index.manifests.find((m) => m.digest === refOrDigest);
      if (hit) return hit;
      if (await this.hasBlob({ digest: refOrDigest })) {
        const bytes = await this.readBlob({ digest: refOrDigest });
        const { mediaType } = JSON.parse(bytes.toString('utf8')) as { mediaType?: string };
        return { mediaType: mediaType ?? MediaType.ImageManifest, digest: refOrDigest, size: bytes.length };
      }
    } else {
      const name = canonicalRef(refOrDigest);
      const hit = index.manifests.find((m) => m.annotations?.[Annotation.RefName] === name);
      if (hit) return hit;
    }
    throw imageError(
      `find image ${refOrDigest}`,
      `not in the store ${this.root}; pull it first (ctr pull ${refOrDigest})`,
    );
  }

  async resolve(refOrDigest: string, opts: ResolveOptions = {}): Promise<ResolvedImage> {
    const top = await this.lookup(refOrDigest);
    const ref = top.annotations?.[Annotation.RefName];
    const resolved = await this.resolveDescriptor(top, opts.platform);
    return ref === undefined ? resolved : { ...resolved, ref };
  }

  /** Follows an index to the manifest for `platform` (default: this host) and reads its config. */
  async resolveDescriptor(top: Descriptor, platform?: Platform): Promise<ResolvedImage> {
    let descriptor = top;
    let index: ResolvedImage['index'];
    const mediaType = await this.mediaTypeOf(top);
    if (INDEX_MEDIA_TYPES.includes(mediaType)) {
      const idx = await this.readJson<ImageIndex>(top);
      const want = platform ?? hostPlatform();
      const child = idx.manifests.find(
        (m) => MANIFEST_MEDIA_TYPES.includes(m.mediaType) && platformMatches(want, m.platform),
      );
      if (!child) {
        const offered = idx.manifests
          .flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []))
          .join(', ');
        throw imageError(
          `resolve ${top.digest}`,
          `no manifest for ${formatPlatform(want)} (offered: ${offered || 'none'}); choose one with --platform`,
        );
      }
      descriptor = child;
      index = { descriptor: top, index: idx };
    } else if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
      throw imageError(`resolve ${top.digest}`, `media type ${mediaType} is not an image manifest or index`);
    }
    const manifest = await this.readJson<ImageManifest>(descriptor);
    const config = await this.readJson<ImageConfig>(manifest.config);
    const plat: Platform = descriptor.platform ?? {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    };
    if (!index && platform && !platformMatches(platform, plat)) {
      // A pull stores one platform's manifest under the name; another platform is another pull.
      throw imageError(
        `resolve ${top.digest}`,
        `the stored image is for ${formatPlatform(plat)}, not ${formatPlatform(platform)}; pull it with --platform ${formatPlatform(platform)}`,
      );
    }
    return index
      ? { descriptor, manifest, config, platform: plat, index }
      : { descriptor, manifest, config, platform: plat };
  }

  private async mediaTypeOf(desc: Descriptor): Promise<string> {
    if (desc.mediaType) return desc.mediaType;
    const { mediaType } = await this.readJson<{ mediaType?: string; manifests?: unknown }>(desc);
    return mediaType ?? MediaType.ImageManifest;
  }

  async list(): Promise<ImageRecord[]> {
    const index = await this.layout.readIndex();
    const records: ImageRecord[] = [];
    for (const entry of index.manifests) {
      const ref = entry.annotations?.[Annotation.RefName];
      if (ref === undefined) continue;
      const record: ImageRecord = {
        ref,
        digest: entry.digest,
        mediaType: entry.mediaType,
        size: entry.size,
        layers: 0,
      };
      try {
        const r = await this.resolveDescriptor(entry);
        record.size = entry.size + r.manifest.config.size + r.manifest.layers.reduce((n, l) => n + l.size, 0);
        record.layers = r.manifest.layers.length;
        record.platform = r.platform;
        if (r.config.created) record.created = r.config.created;
      } catch {
        // A ref whose blobs are missing or foreign is still listed, with what index.json says.
      }
      records.push(record);
    }
    return records.sort((a, b) => a.ref.localeCompare(b.ref));
  }

  /** Gives the image `src` (a ref or digest) the additional name `dst`. */
  async tag(src: string, dst: string): Promise<Descriptor> {
    const desc = await this.lookup(src);
    const { [Annotation.RefName]: _old, ...rest } = desc.annotations ?? {};
    const clean: Descriptor = { ...desc, annotations: rest };
    if (Object.keys(rest).length === 0) delete clean.annotations;
    await this.setRef(dst, clean);
    return clean;
  }

  /** Removes a name; the blobs stay until gc. */
  async removeRef(ref: string): Promise<Descriptor> {
    const desc = await this.lookup(ref);
    const name = desc.annotations?.[Annotation.RefName];
    await this.updateIndex((ms) =>
      ms.filter((m) =>
        name === undefined ? m.digest !== desc.digest : m.annotations?.[Annotation.RefName] !== name,
      ),
    );
    return desc;
  }

  async inspect(refOrDigest: string, opts: ResolveOptions = {}): Promise<ImageInspection> {
    const r = await this.resolve(refOrDigest, opts);
    const size =
      r.descriptor.size + r.manifest.config.size + r.manifest.layers.reduce((n, l) => n + l.size, 0);
    const platforms = r.index
      ? r.index.index.manifests.flatMap((m) => (m.platform ? [m.platform] : []))
      : [r.platform];
    return { ...r, layers: r.manifest.layers, size, platforms };
  }

  /** Pulls `ref` from its registry into the store (see pullImage). */
  pull(ref: string, opts?: PullOptions): Promise<ImageRecord> {
    return pullImage(this, ref, opts);
  }

  /** Pushes the local image `ref` to `target` (default: `ref`). */
  push(ref: string, target?: string, opts?: PushOptions): Promise<Descriptor> {
    return pushImage(this, ref, target, opts);
  }

  // The archive code (and tar-stream, ~70 ms to load) is imported only by the commands
  // that use it: a pull or a run never needs it.

  /** Imports an oci-archive or docker-save tarball (gzipped or not). */
  async importArchive(path: string, opts?: ImportOptions): Promise<ImportedImage[]> {
    const { importArchive } = await import('./archive.ts');
    return importArchive(this, path, opts);
  }

  /** Writes the images named by `refs` to one tarball readable as oci-archive and by docker load. */
  async exportArchive(refs: string[], path: string): Promise<void> {
    const { exportArchive } = await import('./archive.ts');
    return exportArchive(this, refs, path);
  }

  /**
   * The descriptors an image consists of: itself, an index's children, a manifest's
   * config, layers and subject. Blobs that are absent are listed but not descended into.
   */
  async blobsOf(top: Descriptor, into = new Map<string, Descriptor>()): Promise<Map<string, Descriptor>> {
    const walk = async (d: Descriptor): Promise<void> => {
      if (into.has(d.digest)) return;
      into.set(d.digest, d);
      const mt = d.mediaType;
      if (!(INDEX_MEDIA_TYPES.includes(mt) || MANIFEST_MEDIA_TYPES.includes(mt)) || !(await this.hasBlob(d)))
        return;
      const doc = await this.readJson<Partial<ImageIndex & ImageManifest>>(d);
      for (const child of doc.manifests ?? []) await walk(child);
      if (doc.config) await walk(doc.config);
      for (const layer of doc.layers ?? []) await walk(layer);
      if (doc.subject) await walk(doc.subject);
    };
    await walk(top);
    return into;
  }

  /** Every blob digest reachable from index.json. */
  async reachable(): Promise<Set<string>> {
    const seen = new Map<string, Descriptor>();
    for (const m of (await this.layout.readIndex()).manifests) await this.blobsOf(m, seen);
    return new Set(seen.keys());
  }

  /**
   * Removes every blob no ref reaches, temp files of dead writers and idle per-digest lock files. Holds the gc
   * lock exclusively, so no ingest or pull runs meanwhile: everything unreferenced is
   * truly garbage, not a layer of a pull that has not tagged yet.
   */
  async gc(): Promise<GcResult> {
    return withLock(this.layout.lockPath(GC_LOCK), 'exclusive', async () => {
      const keep = await this.reachable();
      const removed: string[] = [];
      let bytesFreed = 0;
      const blobs = join(this.root, 'blobs');
      for (const alg of await readdir(blobs)) {
        for (const hex of await readdir(join(blobs, alg))) {
          const digest = `${alg}:${hex}`;
          if (keep.has(digest)) continue;
          const path = join(blobs, alg, hex);
          const st = await stat(path);
          await unlink(path);
          removed.push(digest);
          bytesFreed += st.size;
        }
      }
      // Nobody holds or waits for a per-digest lock now: those are taken only under a lease.
      for (const name of await readdir(this.layout.ingestDir)) {
        const perDigest = name.endsWith('.lock') && name !== GC_LOCK && name !== INDEX_LOCK;
        if (name.endsWith('.tmp') || perDigest) await rm(join(this.layout.ingestDir, name), { force: true });
      }
      return { removed: removed.sort(), bytesFreed };
    });
  }
}
