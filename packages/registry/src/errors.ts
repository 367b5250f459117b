import { CtrError } from '@ctr/sys';

/** What went wrong, so callers can branch without parsing messages. */
export type RegistryErrorKind =
  | 'reference'
  | 'auth'
  | 'denied'
  | 'not-found'
  | 'digest-mismatch'
  | 'size-mismatch'
  | 'manifest'
  | 'platform'
  | 'too-large'
  | 'transport'
  | 'http'
  | 'unsupported';

export interface RegistryErrorInit {
  kind: RegistryErrorKind;
  op: string;
  /** The registry and repository (or URL path) involved; never carries credentials. */
  path?: string | undefined;
  hint?: string | undefined;
  status?: number | undefined;
  /** The `errors[].code` values of the registry's error body (MANIFEST_UNKNOWN ...). */
  codes?: string[] | undefined;
  cause?: unknown;
}

/** Every failure of @ctr/registry: a CtrError with stage 'registry', the HTTP status and the registry's error codes. */
export class RegistryError extends CtrError {
  readonly kind: RegistryErrorKind;
  readonly status: number | undefined;
  readonly codes: string[];

  constructor(init: RegistryErrorInit) {
    const status =
      init.status !== undefined
        ? ` (HTTP ${init.status}${init.codes?.length ? ` ${init.codes.join(',')}` : ''})`
        : '';
    super({
      stage: 'registry',
      op: `${init.op}${status}`,
      path: init.path,
      hint: init.hint,
      cause: init.cause,
    });
    this.name = 'RegistryError';
    this.kind = init.kind;
    this.status = init.status;
    this.codes = init.codes ?? [];
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), kind: this.kind, status: this.status, codes: this.codes };
  }
}
