import { CtrError } from '@ctr/sys';

/** One problem found in a document, at a JSON path such as `linux.resources.memory.limit`. */
export interface SpecIssue {
  path: string;
  message: string;
}

/** Every problem of a document, or its typed value. Parsers never throw on bad input. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: SpecIssue[] };

/** A document failed validation; `issues` lists every problem with its JSON path. */
export class SpecError extends CtrError {
  readonly issues: readonly SpecIssue[];

  constructor(what: string, issues: readonly SpecIssue[]) {
    const first = issues
      .slice(0, 3)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
    super({
      stage: 'spec',
      op: `validate ${what}`,
      hint: `${first}${more}`,
    });
    this.name = 'SpecError';
    this.issues = issues;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** The value of a successful parse, or a SpecError listing every issue. */
export function expectValid<T>(result: ParseResult<T>, what: string): T {
  if (result.ok) return result.value;
  throw new SpecError(what, result.errors);
}
