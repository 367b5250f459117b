import { CtrError } from '@ctr/sys';

/** An unpack error naming the entry and the rule it broke. */
export function unpackError(op: string, path: string | undefined, hint: string, cause?: unknown): CtrError {
  const errno = cause instanceof CtrError ? cause.errno : undefined;
  return new CtrError({ stage: 'unpack', op, path, errno, hint, cause });
}

/** The errno name of a thrown SysError ("ENOENT"), or undefined. */
export function errCode(e: unknown): string | undefined {
  return e instanceof CtrError ? e.code : undefined;
}

/** The same unpack error, its operation naming the layer it happened in. */
export function inLayer(e: unknown, layer: string | undefined): unknown {
  if (layer === undefined || !(e instanceof CtrError) || e.stage !== 'unpack') return e;
  return new CtrError({
    stage: 'unpack',
    op: `${e.op} (layer ${layer})`,
    path: e.path,
    errno: e.errno,
    hint: e.hint,
    cause: e.cause ?? e,
  });
}
