// Describes a directory tree the way the comparison tests need it: every path with
// type, mode, owner, size, content hash, symlink target and xattrs.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr, llistxattr } from '@ctr/sys';

export interface Node {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha?: string;
  link?: string;
  rdev?: number;
  mtime?: number;
  xattrs?: Record<string, string>;
}

function typeOf(m: number): string {
  switch (m & 0o170000) {
    case 0o040000:
      return 'dir';
    case 0o100000:
      return 'file';
    case 0o120000:
      return 'symlink';
    case 0o020000:
      return 'char';
    case 0o060000:
      return 'block';
    case 0o010000:
      return 'fifo';
    default:
      return 'other';
  }
}

export function tree(root: string, opts: { mtimes?: boolean; xattrs?: boolean } = {}): Record<string, Node> {
  const out: Record<string, Node> = {};
  const walk = (rel: string): void => {
    const abs = rel ? join(root, rel) : root;
    const st = lstatSync(abs);
    const n: Node = { type: typeOf(st.mode), mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid };
    if (n.type === 'file') {
      n.size = st.size;
      n.sha = createHash('sha256').update(readFileSync(abs)).digest('hex');
    }
    if (n.type === 'symlink') n.link = readlinkSync(abs);
    if (n.type === 'char' || n.type === 'block') n.rdev = st.rdev;
    if (opts.mtimes && n.type !== 'symlink') n.mtime = st.mtimeMs;
    if (opts.xattrs !== false) {
      const names = llistxattr(abs).filter((x) => !x.startsWith('security.selinux'));
      if (names.length) {
        n.xattrs = Object.fromEntries(names.sort().map((x) => [x, lgetxattr(abs, x).toString('base64')]));
      }
    }
    out[rel || '.'] = n;
    if (n.type === 'dir') for (const c of readdirSync(abs).sort()) walk(rel ? `${rel}/${c}` : c);
  };
  walk('');
  return out;
}
