import { createHash } from 'node:crypto';
import { fstatSync, ftruncateSync, readdirSync, rmSync, writeSync, writev } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  AT,
  CtrError,
  close,
  fchmod,
  fchmodat,
  fchown,
  fchownat,
  fsetxattr,
  linkat,
  lsetxattr,
  mkdirat,
  mknodat,
  O,
  openat,
  openat2,
  procFdPath,
  RESOLVE,
  S,
  type Statx,
  statx,
  symlinkat,
  type Timespec,
  unlinkat,
  utimensat,
} from '@ctr/sys';
import { errCode, inLayer, unpackError } from './errors.ts';
import { type IdMap, mapId } from './idmap.ts';
import { defaultLimits, type UnpackLimits } from './limits.ts';
import type { LowerLink } from './lower-layers.ts';
import { decompressor, layerCompression } from './media-types.ts';
import { entryComponents, whiteoutKind } from './paths.ts';
import { ByteReader, entryData, readTar, type TarEntry } from './tar-reader.ts';

/**
 * How whiteouts are applied. 'flat': the target already holds the lower layers, so a
 * whiteout deletes from it (umoci unpack). 'overlay': the target is this layer's own
 * snapshot, so whiteouts become overlayfs markers (a 0/0 character device, and the
 * `trusted.overlay.opaque` xattr on opaque directories).
 */
export type WhiteoutMode = 'flat' | 'overlay';

export interface ApplyLayerOptions {
  /** The layer descriptor's media type; decides the decompressor. */
  mediaType: string;
  /** Maps owners for a user-namespaced container; unmapped ids are refused. */
  idMap?: IdMap | undefined;
  limits?: Partial<UnpackLimits> | undefined;
  /** The image config's rootfs.diff_ids entry; a mismatch throws after the stream ends. */
  expectedDiffId?: string | undefined;
  whiteouts?: WhiteoutMode | undefined;
  /** chown entries to their (mapped) owners; default: when running as root. */
  preserveOwnership?: boolean | undefined;
  /** Names the layer (its digest) in errors. */
  layer?: string | undefined;
}

export interface ApplyLayerResult {
  /** sha256 of the uncompressed tar stream, "sha256:<hex>". */
  diffId: string;
  /** Tar entries applied (extended headers not counted). */
  entries: number;
  /** Uncompressed bytes read. */
  bytes: number;
  /**
   * Parent directories the layer used without an entry of their own, created 0755
   * root-owned. Overlay snapshots copy their attributes from the layers below.
   */
  implicitDirs: string[];
  /** Overlay mode: hardlinks to files of lower layers, for copyLowerLinks once those are on disk. */
  lowerLinks: LowerLink[];
}

const CONFINED = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
const DIR_CACHE_MAX = 256;
const WRITE_BATCH = 1 << 20;
// Below this a file's data goes to the page cache in one synchronous write: a trip
// through the libuv pool costs more than the write itself.
const SMALL_FILE = 64 << 10;
const OVERLAY_OPAQUE = 'trusted.overlay.opaque';

/**
 * Applies one layer to `root` (a directory path, or an fd of it that stays owned by
 * the caller). Every entry is created relative to a directory fd resolved with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and the final component is never
 * followed, so no name, `..` or symlink a layer creates can lead a write outside
 * the root (umoci CVE-2021-29136, node-tar CVE-2021-32803/37701).
 *
 * On failure the entries applied so far stay: the caller owns the directory and
 * removes it (unpackLayers and the snapshot store do).
 */
export async function applyLayer(
  root: number | string,
  stream: Readable,
  opts: ApplyLayerOptions,
): Promise<ApplyLayerResult> {
  try {
    return await apply(root, stream, opts);
  } catch (e) {
    stream.destroy();
    throw inLayer(e, opts.layer);
  }
}

async function apply(
  root: number | string,
  stream: Readable,
  opts: ApplyLayerOptions,
): Promise<ApplyLayerResult> {
  const limits: UnpackLimits = { ...defaultLimits, ...opts.limits };
  const dec = decompressor(layerCompression(opts.mediaType));
  const source: Readable = dec ? stream.pipe(dec) : stream;
  if (dec) stream.once('error', (e) => dec.destroy(e));
  const hash = createHash('sha256');
  let bytes = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > limits.maxTotalBytes) {
          throw unpackError(
            'apply layer',
            undefined,
            `uncompressed layer exceeds maxTotalBytes ${limits.maxTotalBytes} (decompression bomb?)`,
          );
        }
        hash.update(chunk);
        yield chunk;
      }
    } catch (e) {
      if (e instanceof CtrError) throw e;
      throw unpackError(
        'read layer',
        undefined,
        `the layer stream failed: ${(e as Error).message} (truncated, or not the media type ${opts.mediaType})`,
        e,
      );
    }
  }

  const rootfd = typeof root === 'number' ? root : openat(AT.FDCWD, root, O.PATH | O.DIRECTORY);
  const writer = new LayerWriter(rootfd, opts);
  const reader = new ByteReader(counted());
  let entries = 0;
  let implicitDirs: string[] = [];
  let lowerLinks: LowerLink[] = [];
  try {
    for await (const entry of readTar(reader, limits)) {
      entries++;
      await writer.apply(entry, reader);
    }
    await reader.drain();
    writer.finish();
    implicitDirs = writer.implicitDirs();
    lowerLinks = writer.lowerLinks;
  } catch (e) {
    dec?.destroy();
    throw e;
  } finally {
    writer.close();
    if (typeof root !== 'number') close(rootfd);
  }
  const diffId = `sha256:${hash.digest('hex')}`;
  if (opts.expectedDiffId !== undefined && opts.expectedDiffId !== diffId) {
    throw unpackError(
      'verify layer diff_id',
      undefined,
      `the uncompressed layer is ${diffId} but the image config's rootfs.diff_ids says ${opts.expectedDiffId}; the image is corrupt or was tampered with`,
    );
  }
  return { diffId, entries, bytes, implicitDirs, lowerLinks };
}

function writeSmall(fd: number, bufs: Buffer[]): void {
  if (bufs.length === 0) return;
  const data = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off);
}

/** Writes every buffer at file offset `pos`. */
function writevAll(fd: number, bufs: Buffer[], pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (list: Buffer[], at: number): void => {
      writev(fd, list, at, (err, written) => {
        if (err) return reject(err);
        let rest = written;
        let i = 0;
        while (i < list.length && rest >= list[i]!.length) rest -= list[i++]!.length;
        if (i === list.length) return resolve();
        step([list[i]!.subarray(rest), ...list.slice(i + 1)], at + written);
      });
    };
    step(bufs, pos);
  });
}

const ZEROS = Buffer.alloc(256 << 10);

function allZero(bufs: Buffer[]): boolean {
  for (const b of bufs) {
    for (let off = 0; off < b.length; off += ZEROS.length) {
      const part = b.subarray(off, off + ZEROS.length);
      if (!part.equals(ZEROS.subarray(0, part.length))) return false;
    }
  }
  return true;
}

class LayerWriter {
  readonly #root: number;
  readonly #overlay: boolean;
  readonly #idMap: IdMap | undefined;
  readonly #chown: boolean;
  readonly #dirs = new Map<string, number>();
  /** Paths this layer wrote: whiteouts only hide lower layers (image-spec layer.md). */
  readonly #created = new Set<string>();
  readonly #createdAncestors = new Set<string>();
  /** Whiteout markers this layer made (overlay mode). */
  readonly #whiteouts = new Set<string>();
  readonly #implicit = new Set<string>();
  readonly lowerLinks: LowerLink[] = [];
  /** Directory mtimes are set last: creating children would change them. */
  readonly #dirTimes: { comps: string[]; mtime: Timespec }[] = [];
  /**
   * Mtimes of directories this layer changed without an entry of its own (a file
   * added or whited out below them): restored at the end, as umoci does, so a
   * directory's mtime is the one its own layer recorded.
   */
  readonly #lowerMtimes = new Map<string, Timespec>();
  #procFd = -1;

  constructor(root: number, opts: ApplyLayerOptions) {
    this.#root = root;
    this.#overlay = opts.whiteouts === 'overlay';
    this.#idMap = opts.idMap;
    this.#chown = opts.preserveOwnership ?? process.getuid?.() === 0;
  }

  async apply(e: TarEntry, reader: ByteReader): Promise<void> {
    if (this.#dirs.size > DIR_CACHE_MAX) this.#invalidate();
    try {
      await this.#apply(e, reader);
    } catch (err) {
      if (err instanceof CtrError && err.stage === 'unpack') throw err;
      throw unpackError(`apply ${e.type} entry`, e.name, hintFor(err), err);
    }
  }

  async #apply(e: TarEntry, reader: ByteReader): Promise<void> {
    const comps = entryComponents(e.name);
    const base = comps.at(-1);
    if (base === undefined) {
      if (e.type !== 'dir')
        throw unpackError(`apply ${e.type} entry`, e.name, 'the layer root must be a directory');
      this.#metadata(this.#root, '.', e);
      this.#dirTimes.push({ comps, mtime: e.mtime });
      return;
    }
    const parent = comps.slice(0, -1);
    const wh = whiteoutKind(base);
    if (wh.kind === 'invalid') {
      throw unpackError(
        'apply whiteout',
        e.name,
        'a whiteout may not name "." or ".." (it would delete outside its directory)',
      );
    }
    if (wh.kind === 'aufs-meta') return;
    if (wh.kind === 'opaque') return this.#opaque(parent);
    if (wh.kind === 'delete') return this.#whiteout(parent, wh.target);

    const path = comps.join('/');
    const pfd = this.#dir(parent, true);
    if (e.type === 'link') {
      this.#hardlink(e, comps, pfd, base);
    } else if (e.type === 'dir') {
      if (this.#make(pfd, base, true, () => mkdirat(pfd, base, 0o700))) {
        // A directory replacing this layer's own whiteout must still hide the lower one.
        if (this.#overlay && this.#whiteouts.has(path)) {
          lsetxattr(`${this.#proc(pfd)}/${base}`, OVERLAY_OPAQUE, Buffer.from('y'));
        }
      }
      this.#metadata(pfd, base, e);
      this.#dirTimes.push({ comps, mtime: e.mtime });
      this.#implicit.delete(path);
    } else if (e.type === 'file') {
      let fd = -1;
      this.#make(pfd, base, false, () => {
        fd = openat(pfd, base, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o600);
      });
      await this.#file(e, reader, fd, pfd, base);
    } else {
      this.#make(pfd, base, false, () => {
        if (e.type === 'symlink') symlinkat(e.linkname, pfd, base);
        else if (e.type === 'fifo') mknodat(pfd, base, S.IFIFO | 0o600);
        else mknodat(pfd, base, (e.type === 'char' ? S.IFCHR : S.IFBLK) | 0o600, e.devmajor, e.devminor);
      });
      this.#metadata(pfd, base, e);
      utimensat(pfd, base, e.mtime, e.mtime, AT.SYMLINK_NOFOLLOW);
    }
    this.#created.add(path);
    for (let i = 1; i < comps.length; i++) this.#createdAncestors.add(comps.slice(0, i).join('/'));
  }

  /**
   * Creates an entry with `make`, which fails with EEXIST when the name is taken: the
   * common case (a new name) costs no extra lookup. A taken name is replaced, except
   * that an existing directory is kept for a directory entry. Returns whether
   * something new was made.
   */
  #make(pfd: number, base: string, keepDir: boolean, make: () => void): boolean {
    try {
      make();
      return true;
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
    const existing = this.#stat(pfd, base);
    if (keepDir && existing?.type === S.IFDIR) return false;
    if (existing) this.#remove(pfd, base, existing);
    make();
    return true;
  }

  async #file(e: TarEntry, reader: ByteReader, fd: number, pfd: number, base: string): Promise<void> {
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      let pos = 0;
      // A batch of zeros becomes a hole (as GNU tar --sparse extracts): a layer made of
      // zeros, like a bomb's, then costs no disk.
      const flush = async (): Promise<void> => {
        if (!allZero(batch)) await writevAll(fd, batch, pos);
        pos += batched;
        batch = [];
        batched = 0;
      };
      for await (const chunk of entryData(reader, e)) {
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) await flush();
      }
      if (e.size <= SMALL_FILE) writeSmall(fd, batch);
      else {
        if (batched > 0) await flush();
        ftruncateSync(fd, e.size);
      }
      // chown clears setuid/setgid bits and security.capability, so it goes first.
      if (this.#chown) fchown(fd, ...this.#owner(e));
      fchmod(fd, e.mode);
      for (const [name, value] of this.#xattrs(e)) fsetxattr(fd, name, value);
      utimensat(pfd, base, e.mtime, e.mtime, AT.SYMLINK_NOFOLLOW);
    } finally {
      close(fd);
    }
  }

  #hardlink(e: TarEntry, comps: string[], pfd: number, base: string): void {
    const src = entryComponents(e.linkname);
    const srcBase = src.at(-1);
    if (srcBase === undefined || src.join('/') === comps.join('/')) {
      throw unpackError(
        'apply hardlink',
        e.name,
        `hardlink target "${e.linkname}" is the root or the entry itself`,
      );
    }
    const target = src.join('/');
    if (this.#overlay && this.#whiteouts.has(target)) {
      throw unpackError(
        'apply hardlink',
        e.name,
        `hardlink target "${e.linkname}" was deleted by this layer`,
      );
    }
    let sfd: number;
    let st: Statx | undefined;
    try {
      sfd = this.#dir(src.slice(0, -1), false);
      st = this.#stat(sfd, srcBase);
    } catch {
      st = undefined;
      sfd = -1;
    }
    if (st === undefined) {
      if (!this.#overlay) {
        throw unpackError(
          'apply hardlink',
          e.name,
          `hardlink target "${e.linkname}" is not a file inside the root`,
        );
      }
      // The target may belong to a lower layer, which is another snapshot that may
      // still be unpacking: copyLowerLinks makes this entry once the lowers are on disk.
      const existing = this.#stat(pfd, base);
      if (existing) this.#remove(pfd, base, existing);
      this.lowerLinks.push({ path: comps.join('/'), target });
      return;
    }
    if (st.type === S.IFDIR)
      throw unpackError('apply hardlink', e.name, `hardlink target "${e.linkname}" is a directory`);
    const existing = this.#stat(pfd, base);
    if (existing) this.#remove(pfd, base, existing);
    // flags 0: a symlink target is linked itself, never followed.
    linkat(sfd, srcBase, pfd, base, 0);
  }

  #whiteout(parent: string[], target: string): void {
    const path = [...parent, target].join('/');
    if (this.#created.has(path) || this.#createdAncestors.has(path)) return;
    if (this.#overlay) {
      const pfd = this.#dir(parent, true);
      const existing = this.#stat(pfd, target);
      if (existing) this.#remove(pfd, target, existing);
      mknodat(pfd, target, S.IFCHR | 0o000, 0, 0);
      this.#whiteouts.add(path);
      return;
    }
    const pfd = this.#dirIfPresent(parent);
    if (pfd === undefined) return;
    const existing = this.#stat(pfd, target);
    if (existing) this.#remove(pfd, target, existing);
  }

  #opaque(dir: string[]): void {
    if (this.#overlay) {
      const dfd = this.#dir(dir, true);
      lsetxattr(`${this.#proc(dfd)}/.`, OVERLAY_OPAQUE, Buffer.from('y'));
      return;
    }
    const dfd = this.#dirIfPresent(dir);
    if (dfd !== undefined) this.#pruneLower(dfd, dir);
  }

  /** Removes what lower layers put under a directory, keeping this layer's entries. */
  #pruneLower(dfd: number, dir: string[]): void {
    for (const name of readdirSync(this.#proc(dfd))) {
      const comps = [...dir, name];
      const path = comps.join('/');
      if (this.#createdAncestors.has(path)) {
        const child = this.#dirIfPresent(comps);
        if (child !== undefined) this.#pruneLower(child, comps);
      } else if (!this.#created.has(path)) {
        const st = this.#stat(dfd, name);
        if (st) this.#remove(dfd, name, st);
      }
    }
  }

  #metadata(pfd: number, base: string, e: TarEntry): void {
    if (this.#chown) fchownat(pfd, base, ...this.#owner(e), AT.SYMLINK_NOFOLLOW);
    // Symlinks have no mode of their own on Linux.
    if (e.type !== 'symlink') fchmodat(pfd, base, e.mode);
    const xattrs = this.#xattrs(e);
    if (xattrs.length > 0) {
      const at = `${this.#proc(pfd)}/${base}`;
      for (const [name, value] of xattrs) lsetxattr(at, name, value);
    }
  }

  #owner(e: TarEntry): [number, number] {
    if (!this.#idMap) return [e.uid, e.gid];
    return [
      mapId(e.uid, this.#idMap.uidMappings, 'uid', e.name),
      mapId(e.gid, this.#idMap.gidMappings, 'gid', e.name),
    ];
  }

  #xattrs(e: TarEntry): [string, Buffer][] {
    const out: [string, Buffer][] = [];
    for (const [name, value] of e.xattrs) {
      // A layer must not forge overlayfs markers (opaque, redirect, metacopy): in
      // overlay mode they would steer lookups into other layers.
      if (name.startsWith('trusted.overlay.')) continue;
      out.push([name, value]);
    }
    return out;
  }

  /** A directory fd for `comps` resolved inside the root; creates missing ones (0755). */
  #dir(comps: string[], create: boolean): number {
    if (comps.length === 0) return this.#root;
    const key = comps.join('/');
    const hit = this.#dirs.get(key);
    if (hit !== undefined) return hit;
    let fd: number;
    try {
      fd = openat2(this.#root, key, { flags: O.PATH | O.DIRECTORY, resolve: CONFINED });
      if (!this.#lowerMtimes.has(key)) {
        const { mtimeNs } = fstatSync(fd, { bigint: true });
        this.#lowerMtimes.set(key, { sec: mtimeNs / 1_000_000_000n, nsec: Number(mtimeNs % 1_000_000_000n) });
      }
    } catch (e) {
      if (!create || errCode(e) !== 'ENOENT') throw e;
      const pfd = this.#dir(comps.slice(0, -1), true);
      const name = comps.at(-1)!;
      try {
        mkdirat(pfd, name, 0o755);
        fchmodat(pfd, name, 0o755);
        this.#implicit.add(key);
      } catch (e2) {
        if (errCode(e2) !== 'EEXIST') throw e2;
      }
      fd = openat2(this.#root, key, { flags: O.PATH | O.DIRECTORY, resolve: CONFINED });
    }
    this.#dirs.set(key, fd);
    return fd;
  }

  #dirIfPresent(comps: string[]): number | undefined {
    try {
      return this.#dir(comps, false);
    } catch (e) {
      // A parent that a later entry replaced by a file or by a symlink (looping, or
      // leaving the root) holds no directory of this layer any more.
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EXDEV') return undefined;
      throw e;
    }
  }

  #stat(pfd: number, base: string): Statx | undefined {
    try {
      return statx(pfd, base, AT.SYMLINK_NOFOLLOW);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  #remove(pfd: number, base: string, st: Statx): void {
    if (st.type === S.IFDIR) {
      // rm never follows the final component and walks real directories only; the
      // path goes through the fd, not a string joined onto the host root.
      rmSync(`${this.#proc(pfd)}/${base}`, { recursive: true, force: true });
    } else {
      unlinkat(pfd, base);
    }
    if (st.type !== S.IFREG) this.#invalidate();
  }

  #proc(fd: number): string {
    if (this.#procFd === -1) this.#procFd = openat(AT.FDCWD, '/proc/self/fd', O.PATH | O.DIRECTORY);
    return procFdPath(fd, this.#procFd);
  }

  #invalidate(): void {
    for (const fd of this.#dirs.values()) close(fd);
    this.#dirs.clear();
  }

  /** Sets the directories' mtimes once every entry is in place (an entry inside would change them). */
  finish(): void {
    try {
      this.#restoreDirTimes();
    } catch (err) {
      if (err instanceof CtrError && err.stage === 'unpack') throw err;
      throw unpackError('restore directory mtimes', undefined, hintFor(err), err);
    }
  }

  #restoreDirTimes(): void {
    const explicit = new Set(this.#dirTimes.map((d) => d.comps.join('/')));
    for (const [key, mtime] of this.#lowerMtimes) {
      if (explicit.has(key) || this.#implicit.has(key)) continue;
      let fd: number;
      try {
        fd = openat2(this.#root, key, { flags: O.PATH | O.DIRECTORY, resolve: CONFINED });
      } catch {
        continue; // removed or replaced by a later entry
      }
      try {
        utimensat(fd, '', mtime, mtime, AT.EMPTY_PATH);
      } finally {
        close(fd);
      }
    }
    for (const { comps, mtime } of this.#dirTimes) {
      const base = comps.at(-1);
      if (base === undefined) {
        utimensat(this.#root, '', mtime, mtime, AT.EMPTY_PATH);
        continue;
      }
      const pfd = this.#dirIfPresent(comps.slice(0, -1));
      if (pfd !== undefined && this.#stat(pfd, base)?.type === S.IFDIR) {
        utimensat(pfd, base, mtime, mtime, AT.SYMLINK_NOFOLLOW);
      }
    }
  }

  implicitDirs(): string[] {
    return [...this.#implicit];
  }

  close(): void {
    this.#invalidate();
    if (this.#procFd !== -1) close(this.#procFd);
    this.#procFd = -1;
  }
}

function hintFor(err: unknown): string {
  switch (errCode(err)) {
    case 'EXDEV':
    case 'ELOOP':
      return 'a parent of this entry is a symlink that would leave the root; refused';
    case 'ENOTDIR':
      return 'a parent of this entry is not a directory';
    case 'ENOENT':
      return 'a parent of this entry is a dangling symlink or was removed';
    case 'ENOSPC':
      return 'the target filesystem is full';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
