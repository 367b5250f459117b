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
