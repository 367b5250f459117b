import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultRuntimeConfig,
  expectValid,
  NAMESPACE_TYPES,
  parseDigest,
  parseImageManifest,
  parseRuntimeConfig,
  RLIMIT_TYPES,
  type RuntimeConfig,
  SpecError,
  serializeJson,
} from '../src/index.ts';

const absPath = fc
  .array(fc.stringMatching(/^[a-z0-9._-]{1,8}$/), { maxLength: 4 })
  .map((p) => `/${p.join('/')}`);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc
  .bigInt({ min: 0n, max: 2n ** 64n - 1n })
  .map((n) => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n));

const runtimeConfig: fc.Arbitrary<RuntimeConfig> = fc.record({
  ociVersion: fc.constantFrom('1.0.0', '1.2.0', '1.1.0-rc.1'),
  root: fc.record({ path: fc.string({ minLength: 1 }), readonly: fc.boolean() }),
  hostname: fc.string(),
  process: fc.record({
    user: fc.record({ uid: u32, gid: u32, additionalGids: fc.array(u32, { maxLength: 3 }) }),
    cwd: absPath,
    args: fc.array(fc.string(), { minLength: 1, maxLength: 4 }),
    env: fc.array(
      fc.tuple(fc.stringMatching(/^[A-Z_]{1,6}$/), fc.string()).map(([k, v]) => `${k}=${v}`),
      {
        maxLength: 4,
      },
    ),
    rlimits: fc
      .uniqueArray(fc.constantFrom(...RLIMIT_TYPES), { maxLength: 3 })
      .chain((types) =>
        fc.tuple(...types.map((type) => fc.tuple(u64, u64).map(([a, b]) => ({ type, soft: a, hard: b })))),
      )
      .map((rs) =>
        rs.map((r) => (BigInt(r.soft) > BigInt(r.hard) ? { ...r, soft: r.hard, hard: r.soft } : r)),
      ),
    oomScoreAdj: fc.integer({ min: -1000, max: 1000 }),
  }),
  mounts: fc.array(fc.record({ destination: absPath, type: fc.string(), options: fc.array(fc.string()) }), {
    maxLength: 3,
  }),
  annotations: fc.dictionary(fc.string({ minLength: 1 }), fc.string()),
  linux: fc.record({
    namespaces: fc
      .uniqueArray(fc.constantFrom(...NAMESPACE_TYPES.filter((t) => t !== 'user')), { maxLength: 7 })
      .map((ts) => ts.map((type) => ({ type }))),
    maskedPaths: fc.array(absPath, { maxLength: 3 }),
    resources: fc.record({
      memory: fc.record({ limit: fc.integer(), swappiness: fc.integer({ min: 0, max: 100 }) }),
    }),
  }),
});

/** Any JSON value, including the awkward ones (bigint-sized integers, nulls, nesting). */
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 2 ** 64, 1.5, '', '/', null, [], {}),
);

/** Every path to a value inside a document, as a list of keys. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (typeof value === 'object' && value !== null) {
    const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    for (const k of keys) out.push(...paths((value as Record<string | number, unknown>)[k], [...prefix, k]));
  }
  return out;
}

function setAt(doc: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[path[path.length - 1] as string | number] = value;
  return copy;
}

describe('property: runtime config', () => {
  it('serialize then parse gives back the same document', () => {
    fc.assert(
      fc.property(runtimeConfig, (config) => {
        const r = parseRuntimeConfig(serializeJson(config));
        expect(r.ok ? [] : r.errors).toEqual([]);
        if (r.ok) expect(r.value).toEqual(config);
      }),
      { numRuns: 300 },
    );
  });

  it('a mutated document yields a typed result, never an exception', () => {
    const base = defaultRuntimeConfig({ rootless: true });
    const all = paths(base);
    fc.assert(
      fc.property(fc.constantFrom(...all), anyJson, (path, value) => {
        const doc = setAt(base, path, value);
        const r = parseRuntimeConfig(doc);
        if (!r.ok) {
          expect(r.errors.length).toBeGreaterThan(0);
          for (const e of r.errors) {
            expect(typeof e.path).toBe('string');
            expect(e.message.length).toBeGreaterThan(0);
          }
        }
        // Text with the same mutation goes through the same checks.
        const text = parseRuntimeConfig(JSON.stringify(doc));
        expect(text.ok).toBe(r.ok);
      }),
      { numRuns: 500 },
    );
  });

  it('known type errors are found at the path that was mutated', () => {
    const base = defaultRuntimeConfig();
    fc.assert(
      fc.property(
        fc.constantFrom(['process', 'user', 'uid'], ['process', 'cwd'], ['root', 'path'], ['hostname']),
        (path) => {
          const r = parseRuntimeConfig(setAt(base, path, { not: 'valid' }));
          expect(r.ok ? [] : r.errors.map((e) => e.path)).toContain(path.join('.'));
        },
      ),
    );
  });
});

describe('property: expectValid', () => {
  it('returns the value or throws a SpecError, nothing else', () => {
    const base = defaultRuntimeConfig();
    const all = paths(base);
    fc.assert(
      fc.property(fc.constantFrom(...all), anyJson, (path, value) => {
        try {
          expectValid(parseRuntimeConfig(setAt(base, path, value)), 'config.json');
        } catch (e) {
          expect(e).toBeInstanceOf(SpecError);
          expect((e as SpecError).issues.length).toBeGreaterThan(0);
          expect((e as SpecError).message).toMatch(/^spec: validate config.json — /);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: image documents and digests', () => {
  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), anyJson), (input) => {
        expect(typeof parseImageManifest(input).ok).toBe('boolean');
        if (typeof input === 'string') expect(typeof parseDigest(input)).toBe('object');
      }),
      { numRuns: 500 },
    );
  });
});
