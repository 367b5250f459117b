import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { zstdCompressSync } from 'node:zlib';
import { CtrError, lgetxattr } from '@ctr/sys';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { applyLayer } from '../src/index.ts';
import { tar, tgz } from './tar-writer.ts';

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

const dir = makeTmp('ctr-unpack-');
afterAll(() => removeTmp(dir));
let n = 0;
const fresh = (): string => {
  const d = join(dir, `t${n++}`);
  mkdirSync(d);
  return d;
};
const apply = (root: string, buf: Buffer, mediaType = TAR, extra = {}) =>
  applyLayer(root, Readable.from([buf]), { mediaType, ...extra });

describe.runIf(runnable('applyLayer', needsRoot()))('applyLayer', () => {
  it('creates every entry type with owners, modes, ns mtimes and xattrs', async () => {
    const root = fresh();
    const cap = Buffer.from('0100000200000000000000000000000000000000', 'hex');
    const layer = tar([
      { name: 'etc/', type: '5', mode: 0o755 },
      { name: 'etc/hosts', data: 'hosts\n', mode: 0o644, uid: 1000, gid: 1001 },
      {
        name: 'bin/ping',
        data: 'elf',
        mode: 0o4755,
        pax: { mtime: '1600000000.123456789', 'SCHILY.xattr.security.capability': cap },
      },
      { name: 'tmp/', type: '5', mode: 0o1777 },
      { name: 'bin/sh', type: '2', linkname: '/bin/busybox', uid: 5, gid: 6 },
      { name: 'bin/hard', type: '1', linkname: 'bin/ping' },
      { name: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/sda', type: '4', devmajor: 8, devminor: 0, mode: 0o660 },
      { name: 'run/fifo', type: '6', mode: 0o620 },
      { name: `deep/${'d'.repeat(120)}/file`, data: 'long', gnuLongName: true },
      { name: 'paxname', data: 'pax', pax: { path: `p/${'x'.repeat(200)}` } },
      { name: 'sgid/', type: '5', mode: 0o2775, gid: 50 },
    ]);
    const res = await apply(root, layer);
    expect(res.entries).toBe(12);
    expect(res.bytes).toBe(layer.length);
    expect(res.diffId).toBe(`sha256:${createHash('sha256').update(layer).digest('hex')}`);
    const hosts = statSync(join(root, 'etc/hosts'));
    expect([hosts.uid, hosts.gid, hosts.mode & 0o7777]).toEqual([1000, 1001, 0o644]);
    const ping = statSync(join(root, 'bin/ping'), { bigint: true });
    expect(Number(ping.mode & 0o7777n)).toBe(0o4755);
    expect(ping.mtimeNs).toBe(1600000000123456789n);
    expect(lgetxattr(join(root, 'bin/ping'), 'security.capability')).toEqual(cap);
    expect(ping.ino).toBe(statSync(join(root, 'bin/hard'), { bigint: true }).ino);
    expect(statSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(root, 'sgid')).mode & 0o7777).toBe(0o2775);
    expect(readlinkSync(join(root, 'bin/sh'))).toBe('/bin/busybox');
    expect(lstatSync(join(root, 'bin/sh')).uid).toBe(5);
    const nul = statSync(join(root, 'dev/null'));
    expect(nul.isCharacterDevice() && nul.rdev).toBe(0x103);
    expect(statSync(join(root, 'dev/sda')).isBlockDevice()).toBe(true);
    expect(lstatSync(join(root, 'run/fifo')).isFIFO()).toBe(true);
    expect(statSync(join(root, 'run/fifo')).mode & 0o7777).toBe(0o620);
    expect(readFileSync(join(root, `deep/${'d'.repeat(120)}/file`), 'utf8')).toBe('long');
    expect(readFileSync(join(root, `p/${'x'.repeat(200)}`), 'utf8')).toBe('pax');
    expect(statSync(join(root, 'etc')).mtimeMs).toBe(1_700_000_000_000);
  });

  it('applies a "./" entry to the root itself, mtime last', async () => {
    const root = fresh();
    await apply(
      root,
      tar([
        { name: './', type: '5', mode: 0o750, uid: 3, gid: 4, mtime: 1_500_000_000 },
        { name: './child', data: 'x' },
      ]),
    );
    const st = statSync(root);
    expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs]).toEqual([0o750, 3, 4, 1_500_000_000_000]);
    await expect(apply(fresh(), tar([{ name: './', data: 'x' }]))).rejects.toThrow(
      /root must be a directory/,
    );
  });

  it('writes runs of zeros in large files as holes, with the same content', async () => {
    const root = fresh();
    const data = Buffer.alloc(8 << 20);
    data.write('head', 0);
    data.write('tail', data.length - 4);
    await apply(root, tgz([{ name: 'sparse', data }]), GZIP);
    expect(readFileSync(join(root, 'sparse')).equals(data)).toBe(true);
    const st = statSync(join(root, 'sparse'));
    expect(st.size).toBe(data.length);
    expect(st.blocks * 512).toBeLessThan(data.length / 2);
  });

  it('reads gzip and zstd layers and checks the diff_id', async () => {
    const plain = tar([{ name: 'a', data: 'x'.repeat(100_000) }]);
    const diffId = `sha256:${createHash('sha256').update(plain).digest('hex')}`;
    const gz = await apply(fresh(), tgz([{ name: 'a', data: 'x'.repeat(100_000) }]), GZIP, {
      expectedDiffId: diffId,
    });
    expect(gz.diffId).toBe(diffId);
    const zs = await apply(fresh(), zstdCompressSync(plain), ZSTD, { expectedDiffId: diffId });
    expect(zs.diffId).toBe(diffId);
    await expect(apply(fresh(), plain, TAR, { expectedDiffId: `sha256:${'0'.repeat(64)}` })).rejects.toThrow(
      /diff_id/,
    );
    await expect(apply(fresh(), plain, 'application/x-unknown')).rejects.toThrow(
      /unsupported layer media type/,
    );
  });

  it('maps owners through an id map and refuses unmapped ids', async () => {
    const root = fresh();
    const idMap = {
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }],
    };
    await apply(root, tar([{ name: 'f', data: 'x', uid: 7, gid: 8 }]), TAR, { idMap });
    const st = statSync(join(root, 'f'));
    expect([st.uid, st.gid]).toEqual([100007, 200008]);
    await expect(apply(fresh(), tar([{ name: 'g', uid: 70000 }]), TAR, { idMap })).rejects.toThrow(
      /uid 70000 is outside/,
    );
  });

  it('replaces entries of another type and keeps an existing directory', async () => {
    const root = fresh();
    await apply(
      root,
      tar([
        { name: 'd/', type: '5' },
        { name: 'd/inner', data: 'lower' },
        { name: 'f', data: 'file' },
        { name: 'l', type: '2', linkname: 'f' },
      ]),
    );
    await apply(
      root,
      tar([
        { name: 'd/', type: '5', mode: 0o700 },
        { name: 'f/', type: '5' },
        { name: 'l', data: 'now a file' },
      ]),
    );
    expect(readFileSync(join(root, 'd/inner'), 'utf8')).toBe('lower');
    expect(statSync(join(root, 'd')).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'f')).isDirectory()).toBe(true);
    expect(lstatSync(join(root, 'l')).isFile()).toBe(true);
    await apply(root, tar([{ name: 'd', type: '2', linkname: '/' }]));
    expect(readlinkSync(join(root, 'd'))).toBe('/');
  });

  it('applies whiteouts to lower layers only (flat mode)', async () => {
    const root = fresh();
    await apply(
      root,
      tar([
        { name: 'a/one', data: '1' },
        { name: 'a/two', data: '2' },
        { name: 'b/x/y', data: 'y' },
        { name: 'c', data: 'c' },
        { name: 'keep', data: 'k' },
      ]),
    );
    await apply(
      root,
      tar([
        { name: 'keep', data: 'same layer' },
        { name: '.wh.keep' },
        { name: 'a/.wh..wh..opq' },
        { name: 'a/three', data: '3' },
        { name: 'b/x/.wh..wh..opq' },
        { name: '.wh.c' },
        { name: '.wh.missing' },
        { name: 'nodir/.wh.x' },
      ]),
    );
    expect(readFileSync(join(root, 'keep'), 'utf8')).toBe('same layer');
    expect(() => lstatSync(join(root, 'a/one'))).toThrow();
    expect(readFileSync(join(root, 'a/three'), 'utf8')).toBe('3');
    expect(() => lstatSync(join(root, 'b/x/y'))).toThrow();
    expect(() => lstatSync(join(root, 'c'))).toThrow();
    expect(() => lstatSync(join(root, 'nodir'))).toThrow();
  });

  it('writes overlay whiteout markers in overlay mode', async () => {
    const root = fresh();
    await apply(
      root,
      tar([
        { name: '.wh.gone' },
        { name: 'op/.wh..wh..opq' },
        { name: '.wh.redo' },
        { name: 'redo/', type: '5' },
      ]),
      TAR,
      { whiteouts: 'overlay' },
    );
    const wh = lstatSync(join(root, 'gone'));
    expect(wh.isCharacterDevice() && wh.rdev).toBe(0);
    expect(lgetxattr(join(root, 'op'), 'trusted.overlay.opaque').toString()).toBe('y');
    expect(lgetxattr(join(root, 'redo'), 'trusted.overlay.opaque').toString()).toBe('y');
  });

  it('does not let a layer forge overlay xattrs', async () => {
    const root = fresh();
    await apply(
      root,
      tar([{ name: 'd/', type: '5', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } }]),
      TAR,
      {
        whiteouts: 'overlay',
      },
    );
    expect(() => lgetxattr(join(root, 'd'), 'trusted.overlay.opaque')).toThrow(CtrError);
  });

  it('writes through an existing in-root symlink parent, contained', async () => {
    const root = fresh();
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
    symlinkSync('/usr/lib', join(root, 'lib'));
    await apply(root, tar([{ name: 'lib/libc.so', data: 'libc' }]));
    expect(readFileSync(join(root, 'usr/lib/libc.so'), 'utf8')).toBe('libc');
  });
});
