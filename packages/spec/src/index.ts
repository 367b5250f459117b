export { type ImageToRuntimeOptions, imageConfigToRuntimeConfig, resolveUser } from './convert.ts';
export { type DefaultRuntimeConfigOptions, defaultRuntimeConfig } from './defaults.ts';
export {
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  isValidDigest,
  type ParsedDigest,
  parseDigest,
} from './digest.ts';
export * from './image-types.ts';
export { expectValid, type ParseResult, SpecError, type SpecIssue } from './issues.ts';
export { serializeJson } from './json.ts';
export {
  parseDescriptor,
  parseFeatures,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseOciLayout,
  parsePlatform,
  parseProcess,
  parseRuntimeConfig,
  parseState,
} from './parse.ts';
export { hostPlatform } from './platform.ts';
export { RLIMIT_TYPES } from './runtime-schema.ts';
export * from './runtime-types.ts';
