// A small validator that walks a parsed JSON document and records every mismatch with
// its JSON path. Values are checked in place and returned as they are, so unknown
// fields survive (the spec requires runtimes to ignore unknown properties).
import type { SpecIssue } from './issues.ts';

export type Check = (value: unknown, path: string, out: SpecIssue[]) => void;

const IDENT = /^[A-Za-z_$][\w$]*$/;

function fieldPath(path: string, key: string): string {
  const part = IDENT.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (path === '$') return part.startsWith('[') ? `$${part}` : part;
  return part.startsWith('[') ? `${path}${part}` : `${path}.${part}`;
}

/** A short description of a JSON value for messages: `"1g"`, `-1`, `array`, `null`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') {
    const s = JSON.stringify(value);
    return s.length > 60 ? `${s.slice(0, 57)}..."` : s;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return typeof value;
}

function issue(out: SpecIssue[], path: string, message: string): void {
  out.push({ path, message });
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const boolean: Check = (v, path, out) => {
  if (typeof v !== 'boolean') issue(out, path, `expected boolean, got ${describe(v)}`);
};

export interface StringRules {
  nonEmpty?: boolean;
  absolute?: boolean;
  pattern?: RegExp;
  patternName?: string;
  oneOf?: readonly string[];
}

export function string(rules: StringRules = {}): Check {
  return (v, path, out) => {
    if (typeof v !== 'string') return issue(out, path, `expected string, got ${describe(v)}`);
    if (rules.oneOf && !rules.oneOf.includes(v)) {
      return issue(out, path, `expected one of ${rules.oneOf.join(', ')}, got ${describe(v)}`);
    }
    if (rules.nonEmpty && v === '') return issue(out, path, 'must not be empty');
    if (rules.absolute && !v.startsWith('/'))
      return issue(out, path, `must be an absolute path, got ${describe(v)}`);
    if (rules.pattern && !rules.pattern.test(v)) {
      issue(
        out,
        path,
        `expected ${rules.patternName ?? `a string matching ${rules.pattern}`}, got ${describe(v)}`,
      );
    }
  };
}

export const anyString = string();
export const absolutePath = string({ absolute: true });

export function oneOf(values: readonly string[]): Check {
  return string({ oneOf: values });
}

/** Integer ranges of the Go types the spec's schema uses. */
export const Range = {
  uint16: [0n, 0xffffn],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
} as const;

export function integer(range: readonly [bigint, bigint], label = 'integer'): Check {
  const [min, max] = range;
  return (v, path, out) => {
    let n: bigint;
    if (typeof v === 'bigint') n = v;
    else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
    else return issue(out, path, `expected ${label}, got ${describe(v)}`);
    if (n < min || n > max) {
      issue(
        out,
        path,
        label === 'integer' ? `${n} is out of range ${min}..${max}` : `expected ${label}, got ${n}`,
      );
    }
  };
}

export const uint16 = integer(Range.uint16);
export const int32 = integer(Range.int32);
export const uint32 = integer(Range.uint32);
export const int64 = integer(Range.int64);
export const uint64 = integer(Range.uint64);

export function array(item: Check, opts: { nonEmpty?: boolean } = {}): Check {
  return (v, path, out) => {
    if (!Array.isArray(v)) return issue(out, path, `expected array, got ${describe(v)}`);
    if (opts.nonEmpty && v.length === 0) issue(out, path, 'must have at least one entry');
    v.forEach((x, i) => {
      item(x, `${path}[${i}]`, out);
    });
  };
}

/** An object used as a map: every value checked by `value`. */
export function record(value: Check, key?: Check): Check {
  return (v, path, out) => {
    if (!isObject(v)) return issue(out, path, `expected object, got ${describe(v)}`);
    for (const [k, x] of Object.entries(v)) {
      const p = fieldPath(path, k);
      key?.(k, p, out);
      value(x, p, out);
    }
  };
}

export interface Field {
  check: Check;
  required?: boolean;
}

export const required = (check: Check): Field => ({ check, required: true });

/** An object with known fields; unknown fields are kept and not checked. */
export function object(fields: Record<string, Check | Field>, ...extra: Check[]): Check {
  const entries = Object.entries(fields).map(
    ([k, f]) => [k, typeof f === 'function' ? { check: f } : f] as const,
  );
  return (v, path, out) => {
    if (!isObject(v)) return issue(out, path, `expected object, got ${describe(v)}`);
    for (const [k, f] of entries) {
      const p = fieldPath(path, k);
      if (!Object.hasOwn(v, k) || v[k] === undefined) {
        if (f.required) issue(out, p, 'is required');
        continue;
      }
      f.check(v[k], p, out);
    }
    for (const e of extra) e(v, path, out);
  };
}

/** Runs `check` only when the value is null-free; null is accepted as "unset". */
export function nullable(check: Check): Check {
  return (v, path, out) => {
    if (v !== null) check(v, path, out);
  };
}

/** Several checks on one value. */
export function all(...checks: Check[]): Check {
  return (v, path, out) => {
    for (const c of checks) c(v, path, out);
  };
}

/** A check on an object's own fields that runs only if the value is an object. */
export function whenObject(fn: (v: Record<string, unknown>, path: string, out: SpecIssue[]) => void): Check {
  return (v, path, out) => {
    if (isObject(v)) fn(v, path, out);
  };
}

/** Reports entries whose `key(entry)` repeats an earlier one. */
export function unique(key: (entry: unknown) => unknown, what: string): Check {
  return (v, path, out) => {
    if (!Array.isArray(v)) return;
    const seen = new Set<unknown>();
    v.forEach((x, i) => {
      const k = key(x);
      if (k === undefined) return;
      if (seen.has(k)) issue(out, `${path}[${i}]`, `duplicate ${what} ${describe(k)}`);
      seen.add(k);
    });
  };
}

export function runCheck<T>(
  check: Check,
  value: unknown,
): { ok: true; value: T } | { ok: false; errors: SpecIssue[] } {
  const out: SpecIssue[] = [];
  check(value, '$', out);
  return out.length === 0 ? { ok: true, value: value as T } : { ok: false, errors: out };
}
