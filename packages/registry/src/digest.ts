import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.ts';
import { isValidDigest } from './reference.ts';

const ALGORITHMS = new Set(['sha256', 'sha384', 'sha512']);

/**
 * Checks a digest before it goes into a URL path or is trusted: `sha256:../../x` must
 * never reach the registry as a path, and only algorithms node can verify are accepted.
 */
export function checkDigest(digest: string, where: string): string {
  const alg = digest.slice(0, digest.indexOf(':'));
  if (!isValidDigest(digest) || !ALGORITHMS.has(alg)) {
    throw new RegistryError({
      kind: 'unsupported',
      op: `use digest "${digest.slice(0, 80)}"`,
      path: where,
      hint: 'digests must be sha256, sha384 or sha512 with lowercase hex of the right length',
    });
  }
  return alg;
}

export function hasherFor(digest: string, where: string): Hash {
  return createHash(checkDigest(digest, where));
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The digest of `bytes` with the algorithm `expected` uses. */
export function digestLike(expected: string, bytes: Uint8Array, where: string): string {
  const alg = checkDigest(expected, where);
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}
