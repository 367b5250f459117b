// OCI image-spec 1.1 as TypeScript types, with the Docker schema2 media types that
// map onto them (a Docker manifest list is an index, a Docker manifest a manifest).

/** Media types ctr recognises. Docker schema1 is listed only to reject it clearly. */
export const MediaType = {
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  Layer: 'application/vnd.oci.image.layer.v1.tar',
  LayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  LayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  LayerNonDistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  LayerNonDistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  LayerNonDistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  Empty: 'application/vnd.oci.empty.v1+json',
  OciLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;
export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType];

/** Media types of an index (OCI or Docker manifest list). */
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.ImageIndex, MediaType.DockerManifestList];
/** Media types of a single-platform manifest (OCI or Docker schema2). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ImageManifest, MediaType.DockerManifest];
/** Media types of an image config (OCI or Docker). */
export const CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.ImageConfig, MediaType.DockerConfig];
/** Layer media types ctr can unpack, with their compression. */
export const LAYER_MEDIA_TYPES: Readonly<Record<string, 'none' | 'gzip' | 'zstd'>> = {
  [MediaType.Layer]: 'none',
  [MediaType.LayerGzip]: 'gzip',
  [MediaType.LayerZstd]: 'zstd',
  [MediaType.LayerNonDistributable]: 'none',
  [MediaType.LayerNonDistributableGzip]: 'gzip',
  [MediaType.LayerNonDistributableZstd]: 'zstd',
  [MediaType.DockerLayerGzip]: 'gzip',
  [MediaType.DockerForeignLayerGzip]: 'gzip',
};

export type MediaTypeKind = 'index' | 'manifest' | 'config' | 'layer' | 'schema1' | 'other';

/**
 * What a media type names, Docker schema2 types included: a Docker manifest list is
 * an index, a Docker manifest a manifest. Parameters (`;…`) are ignored.
 */
export function mediaTypeKind(mediaType: string): MediaTypeKind {
  const base = mediaType.split(';')[0]?.trim() ?? '';
  if (INDEX_MEDIA_TYPES.includes(base)) return 'index';
  if (MANIFEST_MEDIA_TYPES.includes(base)) return 'manifest';
  if (CONFIG_MEDIA_TYPES.includes(base)) return 'config';
  if (Object.hasOwn(LAYER_MEDIA_TYPES, base)) return 'layer';
  if (base === MediaType.DockerSchema1Manifest || base === MediaType.DockerSchema1SignedManifest)
    return 'schema1';
  return 'other';
}

/** `algorithm:encoded`, e.g. `sha256:e3b0…`. Validated by parseDigest. */
export type Digest = string;

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageConfigHealthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** The `config` object of an image config: how to run the image. */
export interface ImageExecConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  /** Docker extensions, kept when present. */
  Healthcheck?: ImageConfigHealthcheck;
  Shell?: string[];
  OnBuild?: string[] | null;
}

export interface RootFS {
  type: 'layers';
  diff_ids: Digest[];
}

export interface History {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageExecConfig;
  rootfs: RootFS;
  history?: History[];
}

/** The `oci-layout` file at the root of an image layout. */
export interface OciLayout {
  imageLayoutVersion: '1.0.0';
}

/** Annotation keys of the image spec that ctr reads or writes. */
export const Annotation = {
  RefName: 'org.opencontainers.image.ref.name',
  Created: 'org.opencontainers.image.created',
  StopSignal: 'org.opencontainers.image.stopSignal',
  Os: 'org.opencontainers.image.os',
  Architecture: 'org.opencontainers.image.architecture',
  Variant: 'org.opencontainers.image.variant',
  OsVersion: 'org.opencontainers.image.os.version',
  OsFeatures: 'org.opencontainers.image.os.features',
  Author: 'org.opencontainers.image.author',
  ExposedPorts: 'org.opencontainers.image.exposedPorts',
} as const;
