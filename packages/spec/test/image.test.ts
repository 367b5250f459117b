import { describe, expect, it } from 'vitest';
import {
  hostPlatform,
  isValidDigest,
  MediaType,
  mediaTypeKind,
  parseDescriptor,
  parseDigest,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseOciLayout,
} from '../src/index.ts';

const sha = `sha256:${'a'.repeat(64)}`;
const desc = (mediaType: string = MediaType.ImageManifest) => ({ mediaType, digest: sha, size: 1234 });

describe('digests', () => {
  it('accepts sha256 and sha512 with exact lowercase hex', () => {
    expect(parseDigest(sha)).toEqual({ algorithm: 'sha256', encoded: 'a'.repeat(64) });
    expect(isValidDigest(`sha512:${'0'.repeat(128)}`)).toBe(true);
    expect(isValidDigest(`sha256:${'A'.repeat(64)}`)).toBe(false);
    expect(isValidDigest(`sha256:${'a'.repeat(63)}`)).toBe(false);
    expect(isValidDigest(`md5:${'a'.repeat(32)}`)).toBe(false);
    expect(isValidDigest(`sha256:../../${'a'.repeat(58)}`)).toBe(false);
    expect(isValidDigest(42)).toBe(false);
  });
});

describe('descriptor, index, manifest', () => {
  it('validates descriptors', () => {
    expect(parseDescriptor(desc()).ok).toBe(true);
    const r = parseDescriptor({ mediaType: 'nonsense', digest: 'sha256:xyz', size: -1 });
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(['mediaType', 'digest', 'size']);
  });

  it('accepts OCI and Docker indexes and rejects a manifest media type', () => {
    const index = { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [desc()] };
    expect(parseImageIndex(index).ok).toBe(true);
    expect(parseImageIndex({ ...index, mediaType: MediaType.DockerManifestList }).ok).toBe(true);
    const r = parseImageIndex({ ...index, mediaType: MediaType.ImageManifest });
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(['mediaType']);
  });

  it('accepts artifact manifests with subject and artifactType', () => {
    const m = {
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType: 'application/vnd.example.sbom+json',
      config: { ...desc(MediaType.Empty), size: 2 },
      layers: [],
      subject: desc(),
    };
    expect(parseImageManifest(m).ok).toBe(true);
    const bad = parseImageManifest({ ...m, layers: [{ ...desc(MediaType.LayerGzip), digest: 'sha1:abc' }] });
    expect(bad.ok ? [] : bad.errors).toEqual([
      { path: 'layers[0].digest', message: 'digest algorithm "sha1" is not one of sha256, sha512' },
    ]);
  });

  it('rejects Docker schema1 with a clear message', () => {
    const r = parseImageManifest({ schemaVersion: 1, name: 'library/busybox', fsLayers: [] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.message).toMatch(/schema1 manifests are not supported/);
    const signed = parseImageManifest({ schemaVersion: 2, mediaType: MediaType.DockerSchema1SignedManifest });
    expect(signed.ok ? '' : signed.errors[0]?.message).toMatch(/schema1/);
  });
});

describe('media types', () => {
  it('maps Docker schema2 types onto the OCI kinds', () => {
    expect(mediaTypeKind(MediaType.DockerManifestList)).toBe('index');
    expect(mediaTypeKind(MediaType.ImageIndex)).toBe('index');
    expect(mediaTypeKind(`${MediaType.DockerManifest}; charset=utf-8`)).toBe('manifest');
    expect(mediaTypeKind(MediaType.DockerConfig)).toBe('config');
    expect(mediaTypeKind(MediaType.DockerLayerGzip)).toBe('layer');
    expect(mediaTypeKind(MediaType.LayerZstd)).toBe('layer');
    expect(mediaTypeKind(MediaType.DockerSchema1SignedManifest)).toBe('schema1');
    expect(mediaTypeKind('text/plain')).toBe('other');
  });
});

describe('image config and layout', () => {
  it('accepts Docker-style nulls and checks diff_ids', () => {
    const config = {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null, Volumes: null, Labels: null },
      rootfs: { type: 'layers', diff_ids: [sha] },
      history: [{ created_by: 'x', empty_layer: true }],
    };
    expect(parseImageConfig(config).ok).toBe(true);
    const r = parseImageConfig({
      ...config,
      rootfs: { type: 'tar', diff_ids: ['nope'] },
      config: { Env: ['novalue'] },
    });
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual([
      'config.Env[0]',
      'rootfs.type',
      'rootfs.diff_ids[0]',
    ]);
  });

  it('validates oci-layout', () => {
    expect(parseOciLayout('{"imageLayoutVersion":"1.0.0"}').ok).toBe(true);
    expect(parseOciLayout('{"imageLayoutVersion":"2"}').ok).toBe(false);
  });

  it('names the host platform in OCI terms', () => {
    const p = hostPlatform();
    expect(p.os).toBe('linux');
    expect(['amd64', 'arm64']).toContain(p.architecture);
  });
});
