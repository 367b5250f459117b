import { CtrError, stageError } from '@ctr/sys';

/** A failure of the image store: `image: <op> <path>: <errno> — <hint>`. */
export function imageError(op: string, hint?: string, path?: string, cause?: unknown): CtrError {
  if (cause !== undefined) return stageError({ stage: 'image', op, path, hint, cause });
  return new CtrError({ stage: 'image', op, path, hint });
}

/** The errno name of a Node fs error ("ENOENT"), or undefined. */
export const nodeCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
