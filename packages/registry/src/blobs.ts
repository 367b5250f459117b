import type { Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { discard } from './body.ts';
import { hasherFor } from './digest.ts';
import { DirectBody } from './direct.ts';
import { RegistryError } from './errors.ts';
import type { Limiter } from './limit.ts';
import type { Reference } from './reference.ts';
import {
  type Endpoint,
  errorCode,
  isAbort,
  isTransient,
  type Response,
  responseError,
  type Transport,
} from './transport.ts';
import type { Descriptor } from './types.ts';

export interface FetchBlobOptions {
  signal?: AbortSignal;
  /** Called with bytes received so far (offset included) and the total. */
  onProgress?: (received: number, total: number) => void;
  /**
   * Start at this byte (the caller already holds the bytes before it). The digest is
   * still verified end to end, so `prefixHash` must be a hash already fed those bytes.
   */
  offset?: number;
  prefixHash?: Hash;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

function checkResume(opts: FetchBlobOptions, where: string): void {
  if ((opts.offset ?? 0) > 0 && !opts.prefixHash) {
    throw new RegistryError({
      kind: 'unsupported',
      op: 'resume blob',
      path: where,
      hint: 'an offset needs prefixHash, the hash of the bytes before it, so the digest can still be verified',
    });
  }
}

/**
 * Receives a blob's bytes in order. The chunk is only valid during the call (the
 * download reads into one reused buffer); a returned promise pauses the download
 * until it settles.
 */
export type BlobSink = (chunk: Buffer) => void | Promise<void>;

/** What a finished download verified: the digest and size of exactly the bytes handed to the sink (with the caller's prefix). */
export interface DownloadedBlob {
  digest: string;
  size: number;
}

/**
 * Hands the bytes of a blob to `sink` while verifying them: it fails with a
 * size-mismatch as soon as more bytes arrive than the descriptor says, and with a
 * digest-mismatch (instead of resolving) when the content is wrong. A dropped or
 * stalled connection is resumed with a Range request from the last byte received; a
 * server that ignores the Range has the bytes already received skipped, never handed
 * out twice.
 */
export async function downloadBlob(
  transport: Transport,
  limiter: Limiter,
  endpoints: Endpoint[],
  ref: Reference,
  descriptor: Descriptor,
  sink: BlobSink,
  opts: FetchBlobOptions,
): Promise<DownloadedBlob> {
  const where = `${ref.registry}/${ref.repository}@${descriptor.digest}`;
  checkResume(opts, where);
  const hash = opts.prefixHash ?? hasherFor(descriptor.digest, where);
  let offset = opts.offset ?? 0;
  const { attempts } = transport.options.retry;
  const what = `GET /v2/${ref.repository}/blobs/${descriptor.digest}`;
  let skip = 0;
  let sinkFailure: unknown;

  const deliver = (c: Buffer): void | Promise<void> => {
    let chunk = c;
    if (skip > 0) {
      if (chunk.byteLength <= skip) {
        skip -= chunk.byteLength;
        return;
      }
      chunk = chunk.subarray(skip);
      skip = 0;
    }
    if (offset + chunk.byteLength > descriptor.size) {
      throw new RegistryError({
        kind: 'size-mismatch',
        op: 'verify blob',
        path: where,
        hint: `the registry sent more than the ${descriptor.size} bytes the descriptor says`,
      });
    }
    hash.update(chunk);
    offset += chunk.byteLength;
    opts.onProgress?.(offset, descriptor.size);
    // The sink's own failures (a full disk) end the download; they are not the network's.
    try {
      const out = sink(chunk);
      if (out instanceof Promise)
        return out.catch((e: unknown) => {
          sinkFailure = e;
          throw e;
        });
    } catch (e) {
      sinkFailure = e;
      throw e;
    }
  };

  async function open(ep: Endpoint): Promise<Response> {
    const res = await transport.send(ep, {
      method: 'GET',
      target: `/v2/${ref.repository}/blobs/${descriptor.digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: [`repository:${ref.repository}:pull`],
      signal: opts.signal,
    });
    if (res.statusCode !== 200 && res.statusCode !== 206) throw await responseError(res, 'fetch blob', where);
    return res;
  }

  const release = await limiter.acquire();
  try {
    let epIndex = 0;
    let failures = 0;
    let failedAt = -1;
    for (;;) {
      const ep = endpoints[epIndex];
      if (!ep)
        throw new RegistryError({
          kind: 'transport',
          op: 'fetch blob',
          path: where,
          hint: 'no endpoint left',
        });
      let res: Response;
      try {
        res = await open(ep);
      } catch (err) {
        // A mirror that lacks the blob or fails hands over to the next endpoint.
        if (ep.mirror && !isAbort(err)) {
          epIndex++;
          continue;
        }
        throw err;
      }
      skip = 0;
      if (offset > 0 && res.statusCode === 206) {
        const m = CONTENT_RANGE.exec(String(res.headers['content-range'] ?? ''));
        if (!m || Number(m[1]) !== offset) {
          discard(res);
          throw new RegistryError({
            kind: 'transport',
            op: 'resume blob',
            path: where,
            hint: `asked for bytes from ${offset}, the server sent range "${String(res.headers['content-range'] ?? '')}"`,
          });
        }
      } else if (offset > 0) {
        skip = offset;
      }
      try {
        if (res.body instanceof DirectBody) await res.body.drainInto(deliver);
        else for await (const c of res.body) await deliver(c as Buffer);
      } catch (err) {
        discard(res);
        if (err === sinkFailure || !isTransient(err)) throw err;
        if (offset > failedAt) failures = 0;
        failedAt = offset;
        if (++failures >= attempts) {
          throw new RegistryError({
            kind: 'transport',
            op: 'fetch blob',
            path: where,
            hint: `the connection failed ${failures} times at byte ${offset} of ${descriptor.size}`,
            cause: err,
          });
        }
        await transport.backoff(
          { what, reason: errorCode(err), attempt: failures, resumeAt: offset },
          undefined,
          opts.signal,
        );
        continue;
      }
      if (offset === descriptor.size) break;
      // The body ended cleanly but short: the server closed early. Resume like a drop.
      if (offset > failedAt) failures = 0;
      failedAt = offset;
      if (++failures >= attempts) {
        throw new RegistryError({
          kind: 'size-mismatch',
          op: 'verify blob',
          path: where,
          hint: `the registry sent ${offset} of ${descriptor.size} bytes`,
        });
      }
      await transport.backoff(
        { what, reason: 'short body', attempt: failures, resumeAt: offset },
        undefined,
        opts.signal,
      );
    }
  } finally {
    release();
  }
  const digest = `${descriptor.digest.slice(0, descriptor.digest.indexOf(':'))}:${hash.digest('hex')}`;
  if (digest !== descriptor.digest) {
    throw new RegistryError({
      kind: 'digest-mismatch',
      op: 'verify blob',
      path: where,
      hint: `the content has digest ${digest}; it was discarded`,
    });
  }
  return { digest, size: offset };
}

/**
 * The bytes of a blob as a Readable over downloadBlob: chunks are copied out of the
 * download's buffer, the stream errors (instead of ending) on a wrong digest, and
 * destroying it aborts the download.
 */
export function blobStream(
  transport: Transport,
  limiter: Limiter,
  endpoints: Endpoint[],
  ref: Reference,
  descriptor: Descriptor,
  opts: FetchBlobOptions,
): Readable {
  checkResume(opts, `${ref.registry}/${ref.repository}@${descriptor.digest}`);
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  let wake: (() => void) | undefined;
  let started = false;
  const out = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      const w = wake;
      wake = undefined;
      w?.();
      if (started) return;
      started = true;
      const sink = (chunk: Buffer): void | Promise<void> => {
        if (out.push(Buffer.from(chunk))) return;
        return new Promise<void>((resolve) => {
          wake = resolve;
        });
      };
      downloadBlob(transport, limiter, endpoints, ref, descriptor, sink, { ...opts, signal }).then(
        () => out.push(null),
        (err: unknown) => {
          if (!out.destroyed) out.destroy(err as Error);
        },
      );
    },
    destroy(err, cb) {
      stop.abort();
      wake?.();
      cb(err);
    },
  });
  return out;
}

/** Whether the repository holds the blob (HEAD, no body transferred). */
export async function blobExistsAt(
  transport: Transport,
  ep: Endpoint,
  ref: Reference,
  digest: string,
  scopes: string[],
  signal?: AbortSignal,
): Promise<boolean> {
  const where = `${ref.registry}/${ref.repository}@${digest}`;
  const res = await transport.send(ep, {
    method: 'HEAD',
    target: `/v2/${ref.repository}/blobs/${digest}`,
    scopes,
    signal,
  });
  res.body.resume();
  if (res.statusCode === 200) return true;
  if (res.statusCode === 404) return false;
  throw await responseError(res, 'check blob', where);
}
