// Placeholder API, replaced by the full spec package.
export interface SpecIssue {
  path: string;
  message: string;
}
export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: SpecIssue[] };

export function defaultRuntimeConfig(_opts: { rootless?: boolean } = {}): Record<string, unknown> {
  return { ociVersion: '1.2.0' };
}

export function parseRuntimeConfig(text: string): ParseResult<Record<string, unknown>> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, errors: [{ path: '$', message: (e as Error).message }] };
  }
}
