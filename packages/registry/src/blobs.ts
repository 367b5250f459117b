import type { Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { discard } from './body.ts';
import { hasherFor } from './digest.ts';
import { RegistryError } from './errors.ts';
import type { Limiter } from './limit.ts';
import type { Reference } from './reference.ts';
import {
  type Endpoint,
  errorCode,
  isAbort,
  isTransient,
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

/**
 * The bytes of a blob as a stream that is verified while it flows: it errors with a
 * size-mismatch as soon as more bytes arrive than the descriptor says, and with a
 * digest-mismatch (instead of ending) when the content is wrong. A dropped or stalled
 * connection is resumed with a Range request from the last byte received; a server
 * that ignores the Range has the bytes already received skipped, never re-emitted.
 */
export function blobStream(
  transport: Transport,
  limiter: Limiter,
  endpoints: Endpoint[],
  ref: Reference,
  descriptor: Descriptor,
  opts: FetchBlobOptions,
): Readable {
  const where = `${ref.registry}/${ref.repository}@${descriptor.digest}`;
  const hash = opts.prefixHash ?? hasherFor(descriptor.digest, where);
  let offset = opts.offset ?? 0;
  if (offset > 0 && !opts.prefixHash) {
    throw new RegistryError({
      kind: 'unsupported',
      op: 'resume blob',
      path: where,
      hint: 'an offset needs prefixHash, the hash of the bytes before it, so the digest can still be verified',
    });
  }
  const { attempts } = transport.options.retry;
  const what = `GET /v2/${ref.repository}/blobs/${descriptor.digest}`;

  async function open(ep: Endpoint): Promise<Dispatcher.ResponseData> {
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

  async function* chunks(): AsyncGenerator<Buffer> {
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
        let res: Dispatcher.ResponseData;
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
        let skip = 0;
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
        let position = 0;
        try {
          for await (const c of res.body) {
            let chunk = c as Buffer;
            position += chunk.byteLength;
            if (skip > 0) {
              if (position <= skip) continue;
              chunk = chunk.subarray(chunk.byteLength - (position - skip));
              skip = 0;
            }
            if (offset + chunk.byteLength > descriptor.size) {
              discard(res);
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
            yield chunk;
          }
        } catch (err) {
          if (!isTransient(err)) throw err;
          discard(res);
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
      const digest = `${descriptor.digest.slice(0, descriptor.digest.indexOf(':'))}:${hash.digest('hex')}`;
      if (digest !== descriptor.digest) {
        throw new RegistryError({
          kind: 'digest-mismatch',
          op: 'verify blob',
          path: where,
          hint: `the content has digest ${digest}; it was discarded`,
        });
      }
    } finally {
      release();
    }
  }

  return Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 });
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
