import {
  descriptorSchema,
  imageConfigSchema,
  imageIndexSchema,
  imageManifestSchema,
  ociLayoutSchema,
  platformSchema,
} from './image-schema.ts';
import type {
  Descriptor,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  OciLayout,
  Platform,
} from './image-types.ts';
import type { ParseResult } from './issues.ts';
import { toDocument } from './json.ts';
import { featuresSchema, processSchema, runtimeConfigSchema, stateSchema } from './runtime-schema.ts';
import type { Features, Process, RuntimeConfig, State } from './runtime-types.ts';
import { type Check, runCheck } from './schema.ts';

function parseWith<T>(check: Check, input: unknown): ParseResult<T> {
  const doc = toDocument(input);
  if ('error' in doc) return { ok: false, errors: [doc.error] };
  return runCheck<T>(check, doc.value);
}

/**
 * Each parser takes JSON text, bytes or an already parsed value and returns the typed
 * document or every issue with its JSON path. Unknown fields are kept as they are.
 */
export const parseRuntimeConfig = (input: unknown): ParseResult<RuntimeConfig> =>
  parseWith(runtimeConfigSchema, input);
/** A `process` object alone, as `exec --process process.json` takes it. */
export const parseProcess = (input: unknown): ParseResult<Process> => parseWith(processSchema, input);
export const parseState = (input: unknown): ParseResult<State> => parseWith(stateSchema, input);
export const parseFeatures = (input: unknown): ParseResult<Features> => parseWith(featuresSchema, input);
export const parseDescriptor = (input: unknown): ParseResult<Descriptor> =>
  parseWith(descriptorSchema, input);
export const parsePlatform = (input: unknown): ParseResult<Platform> => parseWith(platformSchema, input);
export const parseImageIndex = (input: unknown): ParseResult<ImageIndex> =>
  parseWith(imageIndexSchema, input);
export const parseImageManifest = (input: unknown): ParseResult<ImageManifest> =>
  parseWith(imageManifestSchema, input);
export const parseImageConfig = (input: unknown): ParseResult<ImageConfig> =>
  parseWith(imageConfigSchema, input);
export const parseOciLayout = (input: unknown): ParseResult<OciLayout> => parseWith(ociLayoutSchema, input);
