import { CtrError } from '@ctr/sys';

// runc's rule: the id becomes a directory name under --root, so it must not contain
// a slash or be "." or "..", and it stays within the characters runc accepts.
const VALID = /^[\w+.-]+$/;

/** Throws unless `id` is a valid container id. */
export function validateId(id: string): void {
  if (!VALID.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw new CtrError({
      stage: 'runtime',
      op: `invalid container id ${JSON.stringify(id)}`,
      hint: 'use letters, digits and the characters _ + - . only',
    });
  }
}
