import type { SpecIssue } from './issues.ts';

/**
 * Parses JSON text keeping integers beyond 2^53 exact as bigint: runtime-spec fields
 * such as rlimits, seccomp argument values and memory limits are uint64/int64, and a
 * silently rounded limit is a different limit.
 */
export function parseJsonText(text: string): { value: unknown } | { error: SpecIssue } {
  try {
    // A reviver makes JSON.parse ~10x slower; only integers of 16+ digits can be unsafe.
    if (!/\d{16}/.test(text)) return { value: JSON.parse(text) };
    return {
      value: JSON.parse(text, (_key, value, context?: { source?: string }) => {
        if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source) {
          const source = context.source;
          if (/^-?\d+$/.test(source)) return BigInt(source);
        }
        return value;
      }),
    };
  } catch (cause) {
    return { error: { path: '$', message: `not valid JSON: ${(cause as Error).message}` } };
  }
}

/** Accepts JSON text, bytes or an already parsed value. */
export function toDocument(input: unknown): { value: unknown } | { error: SpecIssue } {
  if (typeof input === 'string') return parseJsonText(input);
  if (input instanceof Uint8Array) return parseJsonText(new TextDecoder().decode(input));
  return { value: input };
}

/**
 * Serializes a spec document; bigint values (exact uint64/int64) are written as JSON
 * numbers. `indent` follows JSON.stringify ('\t' is what runc writes).
 */
// JSON.rawJSON (V8 11.4, Node 21+) is not yet in TypeScript's lib.
const { rawJSON } = JSON as unknown as { rawJSON(text: string): unknown };

export function serializeJson(value: unknown, indent?: string | number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? rawJSON(v.toString()) : v),
    indent,
  );
}
