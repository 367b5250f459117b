import type { Readable } from 'node:stream';
import { authFileCredentials, type CredentialLookup } from './auth/credentials.ts';
import {
  type BlobSink,
  blobExistsAt,
  blobStream,
  type DownloadedBlob,
  downloadBlob,
  type FetchBlobOptions,
} from './blobs.ts';
import { readLimited } from './body.ts';
import { checkDigest, digestLike, sha256 } from './digest.ts';
import { RegistryError } from './errors.ts';
import { Limiter } from './limit.ts';
import {
  type FetchedManifest,
  fetchManifestFrom,
  MAX_MANIFEST_BYTES,
  type ManifestResult,
  resolvePlatform,
  wantedPlatform,
} from './manifests.ts';
import { type BlobSource, type PushBlobOptions, type PushResult, pushBlobTo } from './push.ts';
import { parseReference, type Reference } from './reference.ts';
import {
  type Endpoint,
  isAbort,
  type RetryEvent,
  type RetryOptions,
  responseError,
  Transport,
} from './transport.ts';
import type { Descriptor, Platform } from './types.ts';

export interface RegistryClientOptions {
  /** Where credentials come from (default: the docker/podman auth files and their helpers). */
  credentials?: CredentialLookup;
  /** Talk plain HTTP to every registry (true) or to these hosts; never implied. */
  plainHttp?: boolean | string[];
  /** Accept any TLS certificate from every registry (true) or these hosts; never implied. */
  skipVerify?: boolean | string[];
  /** Directories holding `<host>/ca.crt`, `<host>/client.cert` + `client.key` (default: /etc/containers/certs.d, /etc/docker/certs.d). */
  certsDir?: string | string[];
  /** Pull mirrors per registry, tried in order before it: `{ 'docker.io': ['mirror.local:5000'] }`. */
  mirrors?: Record<string, string[]>;
  /** Blob downloads running at once through this client (default 3). */
  concurrency?: number;
  retry?: RetryOptions;
  userAgent?: string;
  /** A connection idle this long is dropped and retried (default 30 s). */
  stallTimeoutMs?: number;
  /** Manifests above this size are refused before parsing (default 4 MiB). */
  maxManifestBytes?: number;
  /** Told before every retry and resume (for progress output and debug logs). */
  onRetry?: (event: RetryEvent) => void;
}

// A page of tags is JSON of names of at most 128 bytes each; 16 MiB holds ~100,000.
const MAX_TAGS_PAGE_BYTES = 16 << 20;

export const DEFAULT_CERTS_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

type RefLike = Reference | string;

function toRef(ref: RefLike): Reference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

/**
 * A client for OCI distribution-spec registries. One client shares connections, tokens
 * and the blob concurrency limit across everything it fetches; `close()` ends it.
 */
export class RegistryClient {
  readonly concurrency: number;
  readonly #transport: Transport;
  readonly #limiter: Limiter;
  readonly #maxManifest: number;

  constructor(options: RegistryClientOptions = {}) {
    this.concurrency = options.concurrency ?? 3;
    this.#limiter = new Limiter(this.concurrency);
    this.#maxManifest = options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
    const certs = options.certsDir ?? DEFAULT_CERTS_DIRS;
    this.#transport = new Transport({
      credentials: options.credentials ?? authFileCredentials(),
      plainHttp: options.plainHttp ?? false,
      skipVerify: options.skipVerify ?? false,
      certsDirs: Array.isArray(certs) ? certs : [certs],
      mirrors: options.mirrors ?? {},
      retry: { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000, ...options.retry },
      userAgent: options.userAgent ?? 'ctr/0.1',
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      onRetry: options.onRetry,
    });
  }

  #pull(ref: Reference): Endpoint[] {
    return this.#transport.endpoints(ref.registry, ref.apiHost, 'pull');
  }

  #push(ref: Reference): Endpoint {
    const [ep] = this.#transport.endpoints(ref.registry, ref.apiHost, 'push');
    if (!ep) throw new RegistryError({ kind: 'transport', op: 'push', path: ref.toString() });
    return ep;
  }

  /** Runs `fn` on each pull endpoint until one succeeds; only mirrors fall through. */
  async #onPullEndpoints<T>(ref: Reference, fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    for (const ep of this.#pull(ref)) {
      try {
        return await fn(ep);
      } catch (err) {
        if (!ep.mirror || isAbort(err)) throw err;
      }
    }
    throw new RegistryError({
      kind: 'transport',
      op: 'pull',
      path: ref.toString(),
      hint: 'no endpoint configured',
    });
  }

  /**
   * Fetches the manifest or index the reference names (its digest if it has one, else
   * its tag), exactly as stored, verified against the reference's digest or `expected`.
   */
  fetchManifest(
    ref: RefLike,
    opts: { expected?: Descriptor; signal?: AbortSignal } = {},
  ): Promise<FetchedManifest> {
    const r = toRef(ref);
    const target = opts.expected?.digest ?? r.digest ?? r.tag ?? 'latest';
    if (opts.expected || r.digest) checkDigest(target, r.toString());
    return this.#onPullEndpoints(r, (ep) =>
      fetchManifestFrom(
        this.#transport,
        ep,
        r,
        target,
        opts.expected ?? r.digest,
        this.#maxManifest,
        opts.signal,
      ),
    );
  }

  /**
   * The image manifest for one platform (default: the host's). When the reference names
   * an index, the platform's entry is chosen and fetched; the index comes along.
   */
  async getManifest(
    ref: RefLike,
    opts: { platform?: Platform | string; signal?: AbortSignal } = {},
  ): Promise<ManifestResult> {
    const r = toRef(ref);
    const platform = wantedPlatform(opts.platform);
    const top = await this.fetchManifest(r, opts.signal ? { signal: opts.signal } : {});
    return resolvePlatform(
      top,
      platform,
      (d) => this.fetchManifest(r, { expected: d, ...(opts.signal ? { signal: opts.signal } : {}) }),
      r.toString(),
    );
  }

  /**
   * A stream of the blob's bytes, verified for size and digest while it flows, resumed
   * with Range requests after dropped connections. Counts against `concurrency` while read.
   */
  fetchBlob(ref: RefLike, descriptor: Descriptor, opts: FetchBlobOptions = {}): Readable {
    const r = toRef(ref);
    checkDigest(descriptor.digest, r.toString());
    return blobStream(this.#transport, this.#limiter, this.#pull(r), r, descriptor, opts);
  }

  /**
   * Hands the blob's bytes to `sink` as they arrive, each chunk straight from the
   * connection's read buffer (valid only during the call), verified for size and digest
   * like fetchBlob; resolves with the verified digest and size once every byte has been
   * handed over, and rejects instead when the content is wrong. The fast path for
   * writing a blob to disk: no stream, no copy.
   */
  downloadBlob(
    ref: RefLike,
    descriptor: Descriptor,
    sink: BlobSink,
    opts: FetchBlobOptions = {},
  ): Promise<DownloadedBlob> {
    const r = toRef(ref);
    checkDigest(descriptor.digest, r.toString());
    return downloadBlob(this.#transport, this.#limiter, this.#pull(r), r, descriptor, sink, opts);
  }

  /** Whether the repository holds the blob. */
  async blobExists(ref: RefLike, digest: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    const r = toRef(ref);
    checkDigest(digest, r.toString());
    return this.#onPullEndpoints(r, (ep) =>
      blobExistsAt(this.#transport, ep, r, digest, [`repository:${r.repository}:pull`], opts.signal),
    );
  }

  /** Pushes a blob unless the repository has it (see PushResult). */
  pushBlob(
    ref: RefLike,
    source: BlobSource,
    descriptor: Descriptor,
    opts: PushBlobOptions = {},
  ): Promise<PushResult> {
    const r = toRef(ref);
    checkDigest(descriptor.digest, r.toString());
    return pushBlobTo(this.#transport, this.#push(r), r, source, descriptor, opts);
  }

  /**
   * Mounts a blob from another repository of the same registry without uploading it.
   * Returns false when the registry declined (then push the bytes).
   */
  async mountBlob(
    ref: RefLike,
    descriptor: Descriptor,
    fromRepository: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const r = toRef(ref);
    checkDigest(descriptor.digest, r.toString());
    const ep = this.#push(r);
    const res = await this.#transport.send(ep, {
      method: 'POST',
      target: `/v2/${r.repository}/blobs/uploads/?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(fromRepository)}`,
      scopes: [`repository:${r.repository}:pull,push`, `repository:${fromRepository}:pull`],
      signal: opts.signal,
      idempotent: true,
    });
    res.body.resume();
    if (res.statusCode === 201) return true;
    if (res.statusCode === 202) {
      // The registry opened an upload instead; cancel it so it does not linger.
      const loc = res.headers.location;
      const target = Array.isArray(loc) ? loc[0] : loc;
      if (target) {
        const del = await this.#transport.send(ep, {
          method: 'DELETE',
          target,
          scopes: [`repository:${r.repository}:pull,push`],
          signal: opts.signal,
        });
        del.body.resume();
      }
      return false;
    }
    throw await responseError(res, 'mount blob', `${r.registry}/${r.repository}@${descriptor.digest}`);
  }

  /**
   * Stores a manifest or index under the reference's tag, or under its digest (which
   * must be the digest of `bytes`). Returns the descriptor of what was stored.
   */
  async pushManifest(
    ref: RefLike,
    bytes: Buffer,
    mediaType: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<Descriptor> {
    const r = toRef(ref);
    const where = r.toString();
    if (bytes.byteLength > this.#maxManifest) {
      throw new RegistryError({
        kind: 'too-large',
        op: 'push manifest',
        path: where,
        hint: `manifests larger than ${this.#maxManifest} bytes are refused by registries`,
      });
    }
    let digest = sha256(bytes);
    if (r.digest !== undefined) {
      digest = digestLike(r.digest, bytes, where);
      if (digest !== r.digest) {
        throw new RegistryError({
          kind: 'digest-mismatch',
          op: 'push manifest',
          path: where,
          hint: `the bytes have digest ${digest}`,
        });
      }
    }
    const res = await this.#transport.send(this.#push(r), {
      method: 'PUT',
      target: `/v2/${r.repository}/manifests/${r.digest ?? r.tag ?? 'latest'}`,
      headers: { 'content-type': mediaType },
      body: bytes,
      scopes: [`repository:${r.repository}:pull,push`],
      signal: opts.signal,
    });
    if (res.statusCode !== 201) throw await responseError(res, 'push manifest', where);
    res.body.resume();
    return { mediaType, digest, size: bytes.byteLength };
  }

  /** Every tag of the repository, following the registry's pagination. */
  async listTags(ref: RefLike, opts: { pageSize?: number; signal?: AbortSignal } = {}): Promise<string[]> {
    const r = toRef(ref);
    return this.#onPullEndpoints(r, async (ep) => {
      const tags: string[] = [];
      let target: string | undefined =
        `/v2/${r.repository}/tags/list${opts.pageSize ? `?n=${opts.pageSize}` : ''}`;
      for (let page = 0; target !== undefined && page < 10_000; page++) {
        const res = await this.#transport.send(ep, {
          method: 'GET',
          target,
          scopes: [`repository:${r.repository}:pull`],
          signal: opts.signal,
        });
        if (res.statusCode !== 200)
          throw await responseError(res, 'list tags', `${r.registry}/${r.repository}`);
        const body = JSON.parse(await readLimited(res, MAX_TAGS_PAGE_BYTES)) as { tags?: string[] | null };
        tags.push(...(body.tags ?? []));
        const link = String(res.headers.link ?? '');
        const next = /<([^>]+)>;\s*rel="?next"?/.exec(link)?.[1];
        // A next link must stay on the same registry.
        target = next !== undefined && new URL(next, ep.origin).origin === ep.origin ? next : undefined;
      }
      return tags;
    });
  }

  /** Closes the client's connections. */
  close(): Promise<void> {
    return this.#transport.close();
  }
}
