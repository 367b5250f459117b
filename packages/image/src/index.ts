export type { ImportedImage, ImportOptions } from './archive.ts';
export { checkDigest, DigestVerifier, digestOf } from './digest.ts';
export type {
  BlobSource,
  IngestOptions,
  IngestResult,
  ResumePoint,
  StreamSource,
  VerifiedSource,
} from './ingest.ts';
export type { Lock } from './lock.ts';
export type { BlobInfo, BlobKind, PullEvent, PullOptions, RegistryAccess } from './pull.ts';
export type { PushEvent, PushOptions } from './push.ts';
export { canonicalRef } from './refs.ts';
export {
  defaultStoreRoot,
  type GcResult,
  type ImageInspection,
  type ImageRecord,
  ImageStore,
  openStore,
  type ResolvedImage,
  type ResolveOptions,
} from './store.ts';
