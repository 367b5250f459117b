// Atomic, verified, deduplicated writes into blobs/. Every byte is hashed on its way to
// a temp file inside the store; only a file whose size and digest match its
// descriptor is renamed to blobs/<alg>/<hex> (architecture: "nothing unverified is
// ever renamed into blobs/").
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '@ctr/spec';
import { checkDigest, DigestVerifier } from './digest.ts';
import { imageError, nodeCode } from './errors.ts';
import { fsyncDir, type Layout } from './layout.ts';
import { acquireLock } from './lock.ts';

/** Bytes to store: a stream, or a function that opens one only if the blob is missing. */
export type BlobSource =
  | Readable
  | AsyncIterable<Uint8Array>
  | Uint8Array
  | (() => Promise<Readable | AsyncIterable<Uint8Array>>);

export interface IngestOptions {
  /** Running count of bytes written for this blob. */
  onBytes?: (bytes: number) => void;
  /** Called when another process already holds this blob's lock and we wait for it. */
  onWait?: () => void;
}

export interface IngestResult {
  descriptor: Descriptor;
  /** false when the blob was already present and the source was not read. */
  written: boolean;
}

export async function blobPresent(
  layout: Layout,
  desc: Pick<Descriptor, 'digest' | 'size'>,
): Promise<boolean> {
  try {
    const st = await stat(layout.blobPath(desc.digest));
    return st.isFile() && (desc.size === undefined || desc.size < 0 || st.size === desc.size);
  } catch (e) {
    if (nodeCode(e) === 'ENOENT') return false;
    throw imageError(`stat blob ${desc.digest}`, undefined, undefined, e);
  }
}

/** Lets go of a source that is not needed: a Node stream is destroyed, a tar entry drained. */
function discard(source: BlobSource): void {
  if (source instanceof Readable) source.destroy();
  else if (typeof source === 'object' && 'resume' in source && typeof source.resume === 'function')
    source.resume();
}

const tempName = (algorithm: string, hex: string): string =>
  `${algorithm}-${hex}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;

/**
 * Stores one blob under its descriptor. Concurrent ingests of one digest (threads or
 * processes) serialise on a per-digest flock: the second finds the blob present and
 * never opens its source. A crash leaves only an `ingest/*.tmp` file, removed by the
 * next ingest of that digest or by gc, never a partial file under blobs/.
 */
export async function ingestBlob(
  layout: Layout,
  desc: Descriptor,
  source: BlobSource,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const { algorithm, hex } = checkDigest(desc.digest);
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
    discard(source);
    throw imageError(`ingest ${desc.digest}`, `descriptor size ${desc.size} is not a non-negative integer`);
  }
  if (await blobPresent(layout, desc)) {
    discard(source);
    return { descriptor: desc, written: false };
  }
  const lockName = layout.lockPath(`${algorithm}-${hex}.lock`);
  const lock = await acquireLock(lockName, 'exclusive');
  try {
    if (await blobPresent(layout, desc)) {
      opts.onWait?.();
      discard(source);
      return { descriptor: desc, written: false };
    }
    await removeStaleTemps(layout, `${algorithm}-${hex}.`);
    const final = layout.blobPath(desc.digest);
    await mkdir(dirname(final), { recursive: true, mode: 0o755 });
    const tmp = join(layout.ingestDir, tempName(algorithm, hex));
    const verifier = new DigestVerifier({
      expected: desc.digest,
      expectedSize: desc.size,
      onBytes: opts.onBytes,
    });
    await writeVerified(tmp, source, verifier, desc.digest);
    await rename(tmp, final);
    await fsyncDir(dirname(final));
    return { descriptor: desc, written: true };
  } finally {
    lock.release();
  }
}

/** Stores bytes whose digest is not known in advance (archive import); returns its descriptor. */
export async function ingestComputed(
  layout: Layout,
  mediaType: string,
  source: BlobSource,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const tmp = join(layout.ingestDir, tempName('computed', '0'));
  const verifier = new DigestVerifier({ algorithm: 'sha256', onBytes: opts.onBytes });
  await writeVerified(tmp, source, verifier, 'blob');
  const descriptor: Descriptor = { mediaType, digest: verifier.digest, size: verifier.bytes };
  if (await blobPresent(layout, descriptor)) {
    await unlink(tmp);
    return { descriptor, written: false };
  }
  // Same bytes under the same name: a concurrent writer's rename is indistinguishable.
  const final = layout.blobPath(descriptor.digest);
  await mkdir(dirname(final), { recursive: true, mode: 0o755 });
  await rename(tmp, final);
  await fsyncDir(dirname(final));
  return { descriptor, written: true };
}

async function writeVerified(
  tmp: string,
  source: BlobSource,
  verifier: DigestVerifier,
  what: string,
): Promise<void> {
  try {
    const input =
      typeof source === 'function' ? await source() : source instanceof Uint8Array ? [source] : source;
    // flush: fsync before close, so a rename after a crash never exposes an empty file.
    const file = createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true, highWaterMark: 1 << 20 });
    await pipeline(input, verifier, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e instanceof Error && 'stage' in e
      ? e
      : imageError(`ingest ${what}`, (e as Error).message, undefined, e);
  }
}

/** Temp files of a digest left by a process that died mid-write; only called under that digest's lock. */
async function removeStaleTemps(layout: Layout, prefix: string): Promise<void> {
  for (const name of await readdir(layout.ingestDir)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp'))
      await unlink(join(layout.ingestDir, name)).catch(() => undefined);
  }
}
