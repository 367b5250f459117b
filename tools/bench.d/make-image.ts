// Builds the pull/unpack benchmark image from this host's own files with the project's
// image builder (no mirror, no network) and pushes it to a plain-HTTP registry.
// usage: node tools/bench.d/make-image.ts HOST:PORT/REPO:TAG
// Six gzip layers, ~100 MB compressed: /etc, part of /usr/bin, Python's stdlib (many
// small files), /usr/share/doc and perl, dpkg's database, then a layer that whites out
// /usr/share/doc so an unpacker has to remove a whole tree. Prints one JSON line with
// the layer digests, diff_ids and sizes.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { RegistryClient } from '../../packages/registry/src/index.ts';
import { buildImage, type LayerEntry } from '../../packages/testkit/src/index.ts';

const ref = process.argv[2];
if (!ref) {
  console.error('usage: node tools/bench.d/make-image.ts HOST:PORT/REPO:TAG');
  process.exit(2);
}

const MiB = 1024 * 1024;

/**
 * Entries for host trees under their own absolute paths (leading slash dropped), parents
 * first, reading at most `budget` bytes of file content so a large tree such as /usr/bin
 * gives a layer of a chosen size. A second path to an inode becomes a hard link; a hard
 * link to a file past the budget is dropped with it. Sockets and unreadable files are
 * skipped: the image only has to be realistic, not a faithful copy.
 */
function hostEntries(roots: string[], budget: number): LayerEntry[] {
  const out: LayerEntry[] = [];
  const seenDirs = new Set<string>();
  const inodes = new Map<string, string>();
  let used = 0;
  const dir = (path: string, mode: number): void => {
    if (seenDirs.has(path)) return;
    seenDirs.add(path);
    out.push({ path, type: 'dir', mode });
  };
  const walk = (path: string): void => {
    const full = `/${path}`;
    const st = lstatSync(full, { bigint: true });
    const base = { path, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
    if (st.isDirectory()) {
      dir(path, base.mode);
      for (const name of readdirSync(full).sort()) walk(`${path}/${name}`);
    } else if (st.isSymbolicLink()) {
      out.push({ ...base, type: 'symlink', linkname: readlinkSync(full) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first !== undefined) out.push({ ...base, type: 'hardlink', linkname: first });
      else if (used + Number(st.size) <= budget) {
        let content: Buffer;
        try {
          content = readFileSync(full);
        } catch {
          return;
        }
        used += content.byteLength;
        if (st.nlink > 1n) inodes.set(key, path);
        out.push({ ...base, type: 'file', content });
      }
    }
  };
  for (const root of roots) {
    const rel = root.replace(/^\/+/, '');
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) dir(parts.slice(0, i).join('/'), 0o755);
    walk(rel);
  }
  return out;
}

const image = await buildImage({
  layers: [
    { entries: hostEntries(['/etc'], 64 * MiB) },
    { entries: hostEntries(['/usr/bin'], 110 * MiB) },
    { entries: hostEntries(['/usr/lib/python3.11'], 64 * MiB) },
    { entries: hostEntries(['/usr/share/perl', '/usr/share/doc'], 62 * MiB) },
    { entries: hostEntries(['/var/lib/dpkg'], 64 * MiB) },
    {
      entries: [
        { path: 'etc', type: 'dir' },
        { path: 'usr', type: 'dir' },
        { path: 'usr/share', type: 'dir' },
        { path: 'usr/share/.wh.doc', type: 'file' },
        { path: 'etc/bench-release', type: 'file', content: 'ctr bench image\n' },
      ],
    },
  ],
  config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
});

const client = new RegistryClient({ plainHttp: true });
for (const blob of [...image.layers, image.config]) await client.pushBlob(ref, blob.bytes, blob.descriptor);
await client.pushManifest(ref, image.manifest.bytes, image.manifest.descriptor.mediaType);
console.log(
  JSON.stringify({
    ref,
    manifest: image.manifest.descriptor.digest,
    layers: image.layers.map((l, i) => ({
      digest: l.descriptor.digest,
      size: l.descriptor.size,
      diffId: image.diffIds[i],
    })),
  }),
);
