export { type Challenge, parseChallenges } from './auth/challenge.ts';
export {
  authFileCredentials,
  type CredentialLookup,
  type Credentials,
  credentialHelper,
  defaultAuthFiles,
  staticCredentials,
} from './auth/credentials.ts';
export type { BlobSink, DownloadedBlob, FetchBlobOptions } from './blobs.ts';
export { DEFAULT_CERTS_DIRS, RegistryClient, type RegistryClientOptions } from './client.ts';
export { RegistryError, type RegistryErrorKind } from './errors.ts';
export {
  type FetchedManifest,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  type ManifestResult,
} from './manifests.ts';
export { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectPlatform } from './platform.ts';
export type { BlobSource, PushBlobOptions, PushResult } from './push.ts';
export { DOCKER_HUB, isValidDigest, makeReference, parseReference, type Reference } from './reference.ts';
export type { RetryEvent, RetryOptions } from './transport.ts';
export type { Descriptor, ImageIndex, ImageManifest, Platform } from './types.ts';
export { INDEX_TYPES, MANIFEST_TYPES, MediaTypes } from './types.ts';
