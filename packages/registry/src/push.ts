import { Readable } from 'node:stream';
import { blobExistsAt } from './blobs.ts';
import { RegistryError } from './errors.ts';
import type { Reference } from './reference.ts';
import { type Endpoint, pathOnly, responseError, type Transport } from './transport.ts';
import type { Descriptor } from './types.ts';

/** What a blob push did: nothing (the registry had it), a cross-repository mount, or an upload. */
export type PushResult = 'exists' | 'mounted' | 'uploaded';

/** The content of a blob to push: bytes, a stream (sent once), or a factory (a new stream per attempt). */
export type BlobSource = Buffer | Uint8Array | Readable | (() => Readable);

export interface PushBlobOptions {
  /** Upload in PATCH chunks of this many bytes (true: 5 MiB) instead of one PUT. */
  chunked?: boolean | number;
  /** Try a cross-repository mount from this repository of the same registry first. */
  mountFrom?: string;
  signal?: AbortSignal;
}

const DEFAULT_CHUNK = 5 * 1024 * 1024;

function location(res: { headers: Record<string, string | string[] | undefined> }, where: string): string {
  const loc = res.headers.location;
  const value = Array.isArray(loc) ? loc[0] : loc;
  if (!value)
    throw new RegistryError({
      kind: 'http',
      op: 'start blob upload',
      path: where,
      hint: 'the registry gave no upload Location',
    });
  return value;
}

function withDigest(loc: string, origin: string, digest: string): string {
  const url = new URL(loc, origin);
  url.searchParams.set('digest', digest);
  return url.toString();
}

async function* chunksOf(source: BlobSource, size: number): AsyncGenerator<Buffer> {
  if (!(source instanceof Readable) && typeof source !== 'function') {
    const buf = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    for (let i = 0; i < buf.byteLength; i += size) yield buf.subarray(i, i + size);
    return;
  }
  const stream = typeof source === 'function' ? source() : source;
  let pending: Buffer[] = [];
  let length = 0;
  for await (const c of stream) {
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
    pending.push(chunk);
    length += chunk.byteLength;
    while (length >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      length -= size;
    }
  }
  if (length > 0) yield Buffer.concat(pending);
}

/**
 * Pushes one blob: HEAD first (nothing to do if present), then a cross-repository
 * mount when asked, then a monolithic PUT or a chunked PATCH sequence. The registry
 * checks the digest on the final PUT; a mismatch comes back as DIGEST_INVALID.
 */
export async function pushBlobTo(
  transport: Transport,
  ep: Endpoint,
  ref: Reference,
  source: BlobSource,
  descriptor: Descriptor,
  opts: PushBlobOptions,
): Promise<PushResult> {
  const where = `${ref.registry}/${ref.repository}@${descriptor.digest}`;
  const scopes = [`repository:${ref.repository}:pull,push`];
  if (await blobExistsAt(transport, ep, ref, descriptor.digest, scopes, opts.signal)) return 'exists';
  let start = `/v2/${ref.repository}/blobs/uploads/`;
  if (opts.mountFrom !== undefined) {
    start += `?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(opts.mountFrom)}`;
    scopes.push(`repository:${opts.mountFrom}:pull`);
  }
  const started = await transport.send(ep, {
    method: 'POST',
    target: start,
    scopes,
    signal: opts.signal,
    idempotent: true,
  });
  started.body.resume();
  if (started.statusCode === 201 && opts.mountFrom !== undefined) return 'mounted';
  if (started.statusCode !== 202) throw await responseError(started, 'start blob upload', where);
  let loc = location(started, where);

  if (opts.chunked) {
    const size = opts.chunked === true ? DEFAULT_CHUNK : opts.chunked;
    let offset = 0;
    for await (const chunk of chunksOf(source, size)) {
      const res = await transport.send(ep, {
        method: 'PATCH',
        target: loc,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + chunk.byteLength - 1}`,
          'content-length': String(chunk.byteLength),
        },
        body: chunk,
        scopes,
        signal: opts.signal,
        idempotent: false,
      });
      res.body.resume();
      if (res.statusCode !== 202)
        throw await responseError(res, `upload blob chunk at byte ${offset}`, where);
      loc = location(res, where);
      offset += chunk.byteLength;
    }
    const done = await transport.send(ep, {
      method: 'PUT',
      target: withDigest(loc, ep.origin, descriptor.digest),
      headers: { 'content-length': '0' },
      scopes,
      signal: opts.signal,
      idempotent: false,
    });
    if (done.statusCode !== 201) throw await responseError(done, 'finish blob upload', where);
    done.body.resume();
    return 'uploaded';
  }

  const body =
    source instanceof Readable || typeof source === 'function'
      ? source
      : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  const res = await transport.send(ep, {
    method: 'PUT',
    target: withDigest(loc, ep.origin, descriptor.digest),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
    body,
    scopes,
    signal: opts.signal,
    idempotent: false,
  });
  if (res.statusCode !== 201) throw await responseError(res, 'upload blob', pathOnly(where));
  res.body.resume();
  return 'uploaded';
}
