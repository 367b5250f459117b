// Atomic, verified, deduplicated writes into blobs/. Every byte is hashed on its way to
// a temp file inside the store; only a file whose size and digest match its
// descriptor is renamed to blobs/<alg>/<hex> (architecture: "nothing unverified is
// ever renamed into blobs/").
import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fsync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Descriptor } from '@ctr/spec';
import { CtrError, SYNC_FILE_RANGE, syncFileRange } from '@ctr/sys';
import { type Algorithm, checkDigest, DigestVerifier } from './digest.ts';
import { imageError, nodeCode } from './errors.ts';
import { fsyncDir, type Layout } from './layout.ts';
import { acquireLock } from './lock.ts';

/** Where an interrupted write of a blob stopped: the bytes kept and their running hash. */
export interface ResumePoint {
  offset: number;
  prefixHash: Hash;
}

/**
 * A source that verifies what it hands over, such as a registry download
 * (RegistryClient.downloadBlob): `download` passes every byte to `write` in order
 * (after the ResumePoint's offset when given; `prefixHash` has been fed the bytes
 * before it) and resolves with the digest and size it computed over exactly those
 * bytes, or rejects. Called only if the blob is missing. The store does not hash
 * these bytes a second time; it still counts them itself and compares the reported
 * digest and size with the descriptor before anything is renamed into blobs/.
 */
export interface VerifiedSource {
  readonly verified: true;
  download(
    write: (chunk: Uint8Array) => void,
    resume?: ResumePoint,
  ): Promise<{ digest: string; size: number }>;
}

/**
 * Bytes to store: a stream, a function that opens one only if the blob is missing, or
 * a VerifiedSource. With `resumable`, the function or source is given a ResumePoint
 * when a dead writer left part of the blob, and must then supply only the bytes from
 * `offset` on.
 */
export type BlobSource =
  | Readable
  | AsyncIterable<Uint8Array>
  | Uint8Array
  | VerifiedSource
  | ((resume?: ResumePoint) => Promise<Readable | AsyncIterable<Uint8Array>>);

/** Bytes whose digest the store computes itself. */
export type StreamSource = Exclude<BlobSource, VerifiedSource>;

function isVerified(source: BlobSource): source is VerifiedSource {
  return typeof source === 'object' && 'verified' in source && source.verified === true;
}

export interface IngestOptions {
  /** Running count of bytes written for this blob. */
  onBytes?: (bytes: number) => void;
  /** Called when another process already holds this blob's lock and we wait for it. */
  onWait?: () => void;
  /** The source function honours a ResumePoint (a registry fetch with a Range). */
  resumable?: boolean;
  /** For a VerifiedSource: called once every byte is written and verified, before the fsync and rename. */
  onWritten?: () => void;
  /**
   * false: leave the fsync of blobs/<alg>/ after the rename to the caller, who must do
   * it before anything refers to the blob (a pull does it once for all its blobs).
   */
  syncDirectory?: boolean;
}

export interface IngestResult {
  descriptor: Descriptor;
  /** false when the blob was already present and the source was not read. */
  written: boolean;
}

// The metadata calls on the ingest path (stat, readdir, mkdir, rename) are synchronous
// on purpose: they take microseconds, while through libuv's four pool threads they
// would queue behind other blobs' fsyncs (tens of ms each) and hold up the next download.

export async function blobPresent(
  layout: Layout,
  desc: Pick<Descriptor, 'digest' | 'size'>,
): Promise<boolean> {
  try {
    const st = statSync(layout.blobPath(desc.digest));
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
    const partial = takeStaleTemps(layout, `${algorithm}-${hex}.`, desc.size);
    const final = layout.blobPath(desc.digest);
    mkdirSync(dirname(final), { recursive: true, mode: 0o755 });
    let tmp: string | undefined;
    if (partial && opts.resumable && (typeof source === 'function' || isVerified(source))) {
      tmp = await resumeWrite(partial, desc, source, algorithm, opts);
    } else if (partial) {
      await unlink(partial).catch(() => undefined);
    }
    if (tmp === undefined) {
      tmp = join(layout.ingestDir, tempName(algorithm, hex));
      if (isVerified(source)) {
        await writeFromVerified(tmp, source, desc, opts, 'wx');
      } else {
        const verifier = new DigestVerifier({
          expected: desc.digest,
          expectedSize: desc.size,
          onBytes: opts.onBytes,
        });
        await writeVerified(tmp, source, verifier, desc.digest, 'wx');
      }
    }
    renameSync(tmp, final);
    if (opts.syncDirectory !== false) await fsyncDir(dirname(final));
    return { descriptor: desc, written: true };
  } finally {
    lock.release();
  }
}

/** Stores bytes whose digest is not known in advance (archive import); returns its descriptor. */
export async function ingestComputed(
  layout: Layout,
  mediaType: string,
  source: StreamSource,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const tmp = join(layout.ingestDir, tempName('computed', '0'));
  const verifier = new DigestVerifier({ algorithm: 'sha256', onBytes: opts.onBytes });
  await writeVerified(tmp, source, verifier, 'blob', 'wx');
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

/**
 * Continues the part of a blob a dead writer left (same digest, found under the lock):
 * its bytes are hashed again, the source is asked for the rest only, and the whole is
 * verified as usual. Returns the finished temp file, or undefined when the kept bytes
 * turn out wrong, so the caller starts over.
 */
async function resumeWrite(
  partial: string,
  desc: Descriptor,
  source: VerifiedSource | ((resume?: ResumePoint) => Promise<Readable | AsyncIterable<Uint8Array>>),
  algorithm: Algorithm,
  opts: IngestOptions,
): Promise<string | undefined> {
  const prefixHash = createHash(algorithm);
  let offset = 0;
  for await (const chunk of createReadStream(partial, { highWaterMark: 1 << 20 })) {
    prefixHash.update(chunk as Buffer);
    offset += (chunk as Buffer).length;
  }
  try {
    if (isVerified(source)) {
      await writeFromVerified(partial, source, desc, opts, 'a', { offset, prefixHash });
      return partial;
    }
    const verifier = new DigestVerifier({
      expected: desc.digest,
      expectedSize: desc.size,
      onBytes: opts.onBytes,
      prefix: { hash: prefixHash.copy(), bytes: offset },
    });
    await writeVerified(partial, () => source({ offset, prefixHash }), verifier, desc.digest, 'a');
    return partial;
  } catch (e) {
    const kind = (e as { kind?: unknown }).kind;
    const mismatch =
      e instanceof CtrError &&
      (e.op.startsWith('verify') || kind === 'digest-mismatch' || kind === 'size-mismatch');
    if (!mismatch) throw e;
    return undefined;
  }
}

async function writeVerified(
  tmp: string,
  source: StreamSource,
  verifier: DigestVerifier,
  what: string,
  flags: 'wx' | 'a',
): Promise<void> {
  try {
    const input =
      typeof source === 'function' ? await source() : source instanceof Uint8Array ? [source] : source;
    // flush: fsync before close, so a rename after a crash never exposes an empty file.
    const file = createWriteStream(tmp, { flags, mode: 0o644, flush: true, highWaterMark: 1 << 20 });
    await pipeline(input, verifier, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e instanceof Error && 'stage' in e
      ? e
      : imageError(`ingest ${what}`, (e as Error).message, undefined, e);
  }
}

const fsyncFd = promisify(fsync);

/**
 * Writeback of a blob is started every this many bytes while it downloads, so the
 * fsync before its rename waits for the tail only, not for the whole blob at the end
 * of the pull (a 40 MB layer's fsync took 32-37 ms there).
 */
const WRITEBACK_EVERY = 8 << 20;

/**
 * Writes a VerifiedSource's bytes to `tmp` with plain synchronous writes (page-cache
 * copies, cheaper than a stream per chunk) and fsyncs it on the thread pool. Refuses,
 * and removes the file, unless the source reports the descriptor's digest and size and
 * exactly that many bytes were written.
 */
async function writeFromVerified(
  tmp: string,
  source: VerifiedSource,
  desc: Descriptor,
  opts: IngestOptions,
  flags: 'wx' | 'a',
  resume?: ResumePoint,
): Promise<void> {
  const fd = openSync(tmp, flags, 0o644);
  let bytes = resume?.offset ?? 0;
  let flushed = bytes;
  try {
    const got = await source.download((chunk) => {
      bytes += chunk.byteLength;
      if (bytes > desc.size) {
        throw imageError(
          `verify ${desc.digest}`,
          `more than the ${desc.size} bytes its descriptor declares arrived; the source is corrupt or hostile`,
        );
      }
      for (let at = 0; at < chunk.byteLength; ) at += writeSync(fd, chunk, at);
      if (bytes - flushed >= WRITEBACK_EVERY) {
        syncFileRange(fd, flushed, bytes - flushed, SYNC_FILE_RANGE.WRITE);
        flushed = bytes;
      }
      opts.onBytes?.(bytes);
    }, resume);
    if (got.digest !== desc.digest || got.size !== desc.size || bytes !== desc.size) {
      throw imageError(
        `verify ${desc.digest}`,
        `the source verified ${got.digest} (${got.size} bytes) and ${bytes} bytes were written; the descriptor says ${desc.size} bytes; refusing to store it`,
      );
    }
    opts.onWritten?.();
    // Before the rename, so a crash never leaves a named blob with missing data.
    await fsyncFd(fd);
  } catch (e) {
    closeSync(fd);
    await unlink(tmp).catch(() => undefined);
    throw e instanceof Error && 'stage' in e
      ? e
      : imageError(`ingest ${desc.digest}`, (e as Error).message, undefined, e);
  }
  closeSync(fd);
}

/**
 * Temp files of a digest left by a process that died mid-write (only called under
 * that digest's lock, so no live writer owns them): the longest one that is still a
 * possible prefix is returned for resuming, the others are removed.
 */
function takeStaleTemps(layout: Layout, prefix: string, size: number): string | undefined {
  let best: { path: string; size: number } | undefined;
  const drop = (path: string): void => rmSync(path, { force: true });
  for (const name of readdirSync(layout.ingestDir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const path = join(layout.ingestDir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && st.size > 0 && st.size < size && (!best || st.size > best.size)) {
      if (best) drop(best.path);
      best = { path, size: st.size };
    } else {
      drop(path);
    }
  }
  return best?.path;
}
