/**
 * The components of a tar entry name, lexically confined to the root: leading "/"
 * and "./" are dropped and ".." stops at the root, the way containerd and umoci read
 * layer names. This only shapes the name; containment against symlinks comes from
 * resolving the parent with openat2(RESOLVE_IN_ROOT), never from this function.
 */
export function entryComponents(name: string): string[] {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** What a base name means under the OCI whiteout rules. */
export type WhiteoutKind =
  | { kind: 'none' }
  | { kind: 'opaque' }
  | { kind: 'delete'; target: string }
  /** Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not part of the image. */
  | { kind: 'aufs-meta' }
  | { kind: 'invalid' };

export function whiteoutKind(base: string): WhiteoutKind {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base === OPAQUE_WHITEOUT) return { kind: 'opaque' };
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'aufs-meta' };
  const target = base.slice(WHITEOUT_PREFIX.length);
  // ".wh.." and ".wh..." would name the directory itself or its parent.
  if (target === '' || target === '.' || target === '..') return { kind: 'invalid' };
  return { kind: 'delete', target };
}
