export { checkDigest, DigestVerifier, digestOf } from './digest.ts';
export type { BlobSource, IngestOptions, IngestResult } from './ingest.ts';
export type { Lock } from './lock.ts';
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
