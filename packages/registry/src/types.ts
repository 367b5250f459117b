// The image-spec shapes the registry client reads and writes: @ctr/spec's types, and
// the manifest media types the client negotiates.

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const INDEX_TYPES: readonly string[] = [MediaTypes.ociIndex, MediaTypes.dockerList];
export const MANIFEST_TYPES: readonly string[] = [MediaTypes.ociManifest, MediaTypes.dockerManifest];

export type { Descriptor, ImageIndex, ImageManifest, Platform } from '@ctr/spec';
