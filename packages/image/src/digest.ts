import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { type DigestAlgorithm, parseDigest } from '@ctr/spec';
import { imageError } from './errors.ts';

export type Algorithm = DigestAlgorithm;

/**
 * Checks a digest before it becomes part of a path. Digests come from manifests a
 * registry (or an archive) controls: `sha256:../../etc/passwd` must never name a file.
 */
export function checkDigest(digest: string): { algorithm: Algorithm; hex: string } {
  const parsed = parseDigest(digest);
  if ('error' in parsed) {
    throw imageError(
      `parse digest ${JSON.stringify(digest)}`,
      `${parsed.error} (OCI image spec, descriptors)`,
    );
  }
  return { algorithm: parsed.algorithm, hex: parsed.encoded };
}

/** The digest of an in-memory blob (manifests, configs). */
export function digestOf(bytes: Uint8Array, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * Passes bytes through while hashing and counting them; fails as soon as more than
 * `expectedSize` bytes arrive (a registry must not fill the disk past a descriptor)
 * and at the end if the size or digest differ. `onBytes` sees the running total.
 */
export class DigestVerifier extends Transform {
  readonly algorithm: Algorithm;
  bytes = 0;
  private readonly hash: Hash;
  private readonly expected: string | undefined;
  private readonly expectedSize: number | undefined;
  private readonly onBytes: ((total: number) => void) | undefined;
  private result: string | undefined;

  constructor(opts: {
    algorithm?: Algorithm;
    expected?: string;
    expectedSize?: number;
    onBytes?: (total: number) => void;
    /** Continue after bytes already hashed (resuming an interrupted write). */
    prefix?: { hash: Hash; bytes: number };
  }) {
    super({ highWaterMark: 1 << 20 });
    this.expected = opts.expected;
    this.algorithm = opts.expected ? checkDigest(opts.expected).algorithm : (opts.algorithm ?? 'sha256');
    this.expectedSize = opts.expectedSize;
    this.onBytes = opts.onBytes;
    this.hash = opts.prefix?.hash ?? createHash(this.algorithm);
    this.bytes = opts.prefix?.bytes ?? 0;
  }

  /** The digest of everything that passed, once the stream has ended. */
  get digest(): string {
    if (this.result === undefined) throw imageError('read digest', 'the stream has not ended yet');
    return this.result;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      cb(
        imageError(
          `verify ${this.expected ?? 'blob'}`,
          `more than the ${this.expectedSize} bytes its descriptor declares arrived; the source is corrupt or hostile`,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      cb(
        imageError(
          `verify ${this.expected ?? 'blob'}`,
          `got ${this.bytes} bytes, the descriptor declares ${this.expectedSize}; the transfer was cut short or the source is corrupt`,
        ),
      );
      return;
    }
    if (this.expected !== undefined && this.result !== this.expected) {
      cb(
        imageError(
          `verify ${this.expected}`,
          `content hashes to ${this.result}; refusing to store it (corrupt transfer or tampered source)`,
        ),
      );
      return;
    }
    cb();
  }
}
