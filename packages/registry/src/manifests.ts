import type { Readable } from 'node:stream';
import { discard } from './body.ts';
import { checkDigest, digestLike, sha256 } from './digest.ts';
import { RegistryError } from './errors.ts';
import { hostPlatform, parsePlatform, selectPlatform } from './platform.ts';
import type { Reference } from './reference.ts';
import { type Endpoint, responseError, type Transport } from './transport.ts';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  INDEX_TYPES,
  MANIFEST_TYPES,
  MediaTypes,
  type Platform,
} from './types.ts';

/** Every manifest type ctr reads; schema1 is not offered, so a registry converts or refuses. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerList,
  MediaTypes.dockerManifest,
].join(', ');

/** Manifests larger than this are refused before parsing (containerd and the distribution spec use 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A manifest or index exactly as the registry sent it, checked against its digest. */
export type FetchedManifest =
  | { kind: 'manifest'; descriptor: Descriptor; mediaType: string; bytes: Buffer; manifest: ImageManifest }
  | { kind: 'index'; descriptor: Descriptor; mediaType: string; bytes: Buffer; index: ImageIndex };

/** The manifest for one platform, and the index it was chosen from when there was one. */
export interface ManifestResult {
  descriptor: Descriptor;
  mediaType: string;
  bytes: Buffer;
  manifest: ImageManifest;
  index?: { descriptor: Descriptor; mediaType: string; bytes: Buffer; index: ImageIndex };
}

function schema1(where: string): RegistryError {
  return new RegistryError({
    kind: 'unsupported',
    op: 'read manifest',
    path: where,
    hint: 'this is a Docker schema1 manifest, deprecated since 2017 and removed from Docker; its layers are not content-addressed the same way. Rebuild or re-push the image with a current tool',
  });
}

async function readBody(res: { body: Readable }, limit: number, where: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    const chunk = c as Buffer;
    size += chunk.byteLength;
    if (size > limit) {
      discard(res);
      throw new RegistryError({
        kind: 'too-large',
        op: 'read manifest',
        path: where,
        hint: `manifests larger than ${limit} bytes are refused`,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Fetches the manifest or index `target` (a tag or digest) from one endpoint. The bytes
 * are checked against `expected` (a descriptor or digest) when there is one, before
 * anything is parsed.
 */
export async function fetchManifestFrom(
  transport: Transport,
  ep: Endpoint,
  ref: Reference,
  target: string,
  expected: Descriptor | string | undefined,
  limit: number,
  signal: AbortSignal | undefined,
): Promise<FetchedManifest> {
  const where = `${ref.registry}/${ref.repository}@${target}`;
  const res = await transport.send(ep, {
    method: 'GET',
    target: `/v2/${ref.repository}/manifests/${target}`,
    headers: { accept: MANIFEST_ACCEPT },
    scopes: [`repository:${ref.repository}:pull`],
    signal,
  });
  if (res.statusCode !== 200) throw await responseError(res, 'fetch manifest', where);
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    discard(res);
    throw new RegistryError({
      kind: 'too-large',
      op: 'fetch manifest',
      path: where,
      hint: `the registry announces ${declared} bytes; manifests larger than ${limit} bytes are refused`,
    });
  }
  const bytes = await readBody(res, limit, where);
  const expectedDigest = typeof expected === 'string' ? expected : expected?.digest;
  if (typeof expected === 'object' && bytes.byteLength !== expected.size) {
    throw new RegistryError({
      kind: 'size-mismatch',
      op: 'verify manifest',
      path: where,
      hint: `the descriptor says ${expected.size} bytes, the registry sent ${bytes.byteLength}`,
    });
  }
  let digest: string;
  if (expectedDigest !== undefined) {
    digest = digestLike(expectedDigest, bytes, where);
    if (digest !== expectedDigest) {
      throw new RegistryError({
        kind: 'digest-mismatch',
        op: 'verify manifest',
        path: where,
        hint: `the registry sent content with digest ${digest}; refusing it`,
      });
    }
  } else {
    digest = sha256(bytes);
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
      throw new RegistryError({
        kind: 'digest-mismatch',
        op: 'verify manifest',
        path: where,
        hint: `the registry claims ${claimed} but sent content with digest ${digest}`,
      });
    }
  }
  const contentType =
    String(res.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim() ?? '';
  if (contentType === MediaTypes.dockerSchema1 || contentType === MediaTypes.dockerSchema1Signed)
    throw schema1(where);
  let parsed: {
    schemaVersion?: number;
    mediaType?: string;
    manifests?: unknown;
    config?: unknown;
    layers?: unknown;
  };
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError({
      kind: 'manifest',
      op: 'parse manifest',
      path: where,
      hint: 'the manifest is not valid JSON',
    });
  }
  if (parsed === null || typeof parsed !== 'object') {
    throw new RegistryError({
      kind: 'manifest',
      op: 'parse manifest',
      path: where,
      hint: 'the manifest is not a JSON object',
    });
  }
  if (parsed.schemaVersion === 1) throw schema1(where);
  if (parsed.schemaVersion !== 2) {
    throw new RegistryError({
      kind: 'manifest',
      op: 'parse manifest',
      path: where,
      hint: `schemaVersion is ${String(parsed.schemaVersion)}, expected 2`,
    });
  }
  // The body's mediaType is covered by the digest; the Content-Type header is not.
  // A manifest without a mediaType field (allowed by image-spec) takes the descriptor's,
  // then a known Content-Type, then what its shape says it is.
  const known = (t: string | undefined): string | undefined =>
    t !== undefined && (INDEX_TYPES.includes(t) || MANIFEST_TYPES.includes(t)) ? t : undefined;
  const shape = Array.isArray(parsed.manifests)
    ? MediaTypes.ociIndex
    : parsed.config !== undefined
      ? MediaTypes.ociManifest
      : undefined;
  const mediaType =
    parsed.mediaType ??
    known(typeof expected === 'object' ? expected.mediaType : undefined) ??
    known(contentType) ??
    shape ??
    contentType;
  if (
    parsed.mediaType !== undefined &&
    contentType &&
    contentType !== parsed.mediaType &&
    contentType !== 'application/json'
  ) {
    throw new RegistryError({
      kind: 'manifest',
      op: 'parse manifest',
      path: where,
      hint: `Content-Type ${contentType} disagrees with the manifest's mediaType ${parsed.mediaType}`,
    });
  }
  const descriptor: Descriptor = { mediaType, digest, size: bytes.byteLength };
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(parsed.manifests))
      throw new RegistryError({
        kind: 'manifest',
        op: 'parse index',
        path: where,
        hint: 'the index has no manifests list',
      });
    return { kind: 'index', descriptor, mediaType, bytes, index: parsed as ImageIndex };
  }
  if (MANIFEST_TYPES.includes(mediaType)) {
    if (typeof parsed.config !== 'object' || !Array.isArray(parsed.layers)) {
      throw new RegistryError({
        kind: 'manifest',
        op: 'parse manifest',
        path: where,
        hint: 'the manifest lacks config or layers',
      });
    }
    return { kind: 'manifest', descriptor, mediaType, bytes, manifest: parsed as ImageManifest };
  }
  throw new RegistryError({
    kind: 'unsupported',
    op: 'read manifest',
    path: where,
    hint: `media type "${mediaType}" is not an image manifest or index`,
  });
}

/** The wanted platform: a Platform, an `os/arch[/variant]` string, or the host's. */
export function wantedPlatform(p: Platform | string | undefined): Platform {
  if (p === undefined) return hostPlatform();
  return typeof p === 'string' ? parsePlatform(p) : p;
}

/** Resolves a fetched top-level object to the manifest for `platform`, fetching it from the index. */
export async function resolvePlatform(
  top: FetchedManifest,
  platform: Platform,
  fetchChild: (d: Descriptor) => Promise<FetchedManifest>,
  where: string,
): Promise<ManifestResult> {
  if (top.kind === 'manifest')
    return { descriptor: top.descriptor, mediaType: top.mediaType, bytes: top.bytes, manifest: top.manifest };
  const chosen = selectPlatform(top.index.manifests, platform, where);
  checkDigest(chosen.digest, where);
  const child = await fetchChild(chosen);
  if (child.kind !== 'manifest') {
    throw new RegistryError({
      kind: 'unsupported',
      op: 'resolve platform',
      path: where,
      hint: 'an index inside an index is not supported',
    });
  }
  return {
    descriptor: { ...child.descriptor, ...(chosen.platform ? { platform: chosen.platform } : {}) },
    mediaType: child.mediaType,
    bytes: child.bytes,
    manifest: child.manifest,
    index: { descriptor: top.descriptor, mediaType: top.mediaType, bytes: top.bytes, index: top.index },
  };
}
