// The image spec's rules as checks (descriptor.md, manifest.md, image-index.md,
// config.md), accepting the Docker schema2 media types that share their structure.
import { parseDigest } from './digest.ts';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from './image-types.ts';
import {
  anyString,
  array,
  boolean,
  type Check,
  describe,
  integer,
  isObject,
  nullable,
  object,
  Range,
  record,
  required,
  string,
} from './schema.ts';

const strings = array(anyString);
const stringMap = record(anyString);

/** RFC 6838 type/subtype with an optional +suffix and parameters (descriptor.md). */
const mediaType = string({
  pattern: /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(;.*)?$/,
  patternName: 'a media type (type/subtype)',
});

export const digest: Check = (v, path, out) => {
  if (typeof v !== 'string') return out.push({ path, message: `expected digest string, got ${describe(v)}` });
  const parsed = parseDigest(v);
  if ('error' in parsed) out.push({ path, message: parsed.error });
};

const base64 = string({ pattern: /^[A-Za-z0-9+/]*={0,2}$/, patternName: 'base64' });
const size = integer([0n, Range.int64[1]], 'size (non-negative integer)');

export const platformSchema: Check = object({
  architecture: required(string({ nonEmpty: true })),
  os: required(string({ nonEmpty: true })),
  'os.version': anyString,
  'os.features': strings,
  variant: anyString,
  features: strings,
});

export const descriptorSchema: Check = object({
  mediaType: required(mediaType),
  digest: required(digest),
  size: required(size),
  urls: array(string({ pattern: /^https?:\/\//, patternName: 'an http(s) URL' })),
  annotations: stringMap,
  data: base64,
  platform: platformSchema,
  artifactType: mediaType,
});

const schema1Message =
  'Docker schema1 manifests are not supported (deprecated and unverifiable); ask for schema2 or OCI, e.g. re-push the image with a current client';

const isSchema1 = (v: Record<string, unknown>) =>
  v.schemaVersion === 1 ||
  v.mediaType === MediaType.DockerSchema1Manifest ||
  v.mediaType === MediaType.DockerSchema1SignedManifest;

/**
 * A schemaVersion 2 document whose mediaType, when present, is one of `allowed`. A
 * schema1 document gets one clear message instead of a list of missing fields.
 */
function document(allowed: readonly string[], what: string, body: Check): Check {
  return (v, path, out) => {
    const p = (k: string) => (path === '$' ? k : `${path}.${k}`);
    if (isObject(v) && isSchema1(v)) {
      out.push({ path: p(v.schemaVersion === 1 ? 'schemaVersion' : 'mediaType'), message: schema1Message });
      return;
    }
    body(v, path, out);
    if (!isObject(v)) return;
    if (v.schemaVersion !== 2) {
      out.push({ path: p('schemaVersion'), message: `expected 2, got ${describe(v.schemaVersion)}` });
    }
    if (v.mediaType !== undefined && (typeof v.mediaType !== 'string' || !allowed.includes(v.mediaType))) {
      out.push({
        path: p('mediaType'),
        message: `expected ${what} media type (${allowed.join(' or ')}), got ${describe(v.mediaType)}`,
      });
    }
  };
}

export const imageIndexSchema: Check = document(
  INDEX_MEDIA_TYPES,
  'an index',
  object({
    artifactType: mediaType,
    manifests: required(array(descriptorSchema)),
    subject: descriptorSchema,
    annotations: stringMap,
  }),
);

export const imageManifestSchema: Check = document(
  MANIFEST_MEDIA_TYPES,
  'a manifest',
  object({
    artifactType: mediaType,
    config: required(descriptorSchema),
    layers: required(array(descriptorSchema)),
    subject: descriptorSchema,
    annotations: stringMap,
  }),
);

const nanoseconds = integer(Range.int64);

export const imageConfigSchema: Check = object({
  created: anyString,
  author: anyString,
  architecture: required(string({ nonEmpty: true })),
  os: required(string({ nonEmpty: true })),
  'os.version': anyString,
  'os.features': strings,
  variant: anyString,
  config: nullable(
    object({
      User: anyString,
      ExposedPorts: nullable(record(nullable(record(() => {})))),
      Env: nullable(array(string({ pattern: /^[^=]+=/s, patternName: 'KEY=value' }))),
      Entrypoint: nullable(strings),
      Cmd: nullable(strings),
      Volumes: nullable(record(nullable(record(() => {})))),
      WorkingDir: anyString,
      Labels: nullable(stringMap),
      StopSignal: anyString,
      ArgsEscaped: boolean,
      Healthcheck: object({
        Test: nullable(strings),
        Interval: nanoseconds,
        Timeout: nanoseconds,
        StartPeriod: nanoseconds,
        Retries: integer(Range.int64),
      }),
      Shell: nullable(strings),
      OnBuild: nullable(strings),
    }),
  ),
  rootfs: required(
    object({
      type: required(string({ oneOf: ['layers'] })),
      diff_ids: required(array(digest)),
    }),
  ),
  history: nullable(
    array(
      object({
        created: anyString,
        author: anyString,
        created_by: anyString,
        comment: anyString,
        empty_layer: boolean,
      }),
    ),
  ),
});

export const ociLayoutSchema: Check = object({
  imageLayoutVersion: required(string({ oneOf: ['1.0.0'] })),
});
