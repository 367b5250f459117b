import { createHash } from 'node:crypto';

/**
 * The chain IDs of a layer stack (image-spec config.md): the first is the first
 * diff_id; each next is sha256 of "<previous chain id> <diff_id>". A chain ID names
 * a layer together with everything below it, so equal IDs mean equal trees.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const prev = out.at(-1);
    out.push(
      prev === undefined
        ? diffId
        : `sha256:${createHash('sha256').update(`${prev} ${diffId}`).digest('hex')}`,
    );
  }
  return out;
}
