import type { Digest } from './image-types.ts';

/** The registered digest algorithms of the image spec and the hex length of each. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  encoded: string;
}

/**
 * Splits and checks a digest. Only the registered algorithms are accepted, with
 * lowercase hex of the exact length: anything else could not be verified, and an
 * unverifiable digest must never name a blob (it is also a path component).
 */
export function parseDigest(digest: string): ParsedDigest | { error: string } {
  const colon = digest.indexOf(':');
  if (colon <= 0) return { error: `digest ${JSON.stringify(digest)} is not algorithm:hex` };
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  if (!Object.hasOwn(DIGEST_ALGORITHMS, algorithm)) {
    return { error: `digest algorithm ${JSON.stringify(algorithm)} is not one of sha256, sha512` };
  }
  const length = DIGEST_ALGORITHMS[algorithm as DigestAlgorithm];
  if (encoded.length !== length || !/^[0-9a-f]+$/.test(encoded)) {
    return { error: `${algorithm} digest must be ${length} lowercase hex characters` };
  }
  return { algorithm: algorithm as DigestAlgorithm, encoded };
}

/** Whether `digest` is a well-formed sha256 or sha512 digest. */
export function isValidDigest(digest: unknown): digest is Digest {
  return typeof digest === 'string' && !('error' in parseDigest(digest));
}
