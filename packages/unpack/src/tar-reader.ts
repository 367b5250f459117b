// A streaming reader of tar headers. Written here rather than taken from tar-stream
// because applying a layer safely needs what tar-stream's extractor does not give:
// raw PAX values (SCHILY.xattr.security.capability is binary, tar-stream decodes it
// as UTF-8 and corrupts it), a strict PAX `size` (a lenient parseInt lets two tools
// disagree about where the next header starts), a PAX size limit chosen by the
// caller, and data of header-only types (directories) skipped rather than parsed as
// headers, which is how Go's archive/tar, and so containerd and Docker, read them.
import type { Timespec } from '@ctr/sys';
import { unpackError } from './errors.ts';
import type { UnpackLimits } from './limits.ts';

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  type: EntryType;
  /** The name as recorded (PAX path, GNU long name, or ustar prefix/name). */
  name: string;
  /** Symlink target or hardlink source. */
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Timespec;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* records, values as raw bytes. */
  xattrs: Map<string, Buffer>;
}

const BLOCK = 512;

const typeFlags: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/**
 * Pulls exact byte counts out of an async iterator of chunks without copying when
 * a request fits in the current chunk.
 */
export class ByteReader {
  #src: AsyncIterator<Buffer>;
  #cur: Buffer = Buffer.alloc(0);
  #off = 0;
  #done = false;

  constructor(src: AsyncIterable<Buffer>) {
    this.#src = src[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    while (this.#off >= this.#cur.length) {
      if (this.#done) return false;
      const next = await this.#src.next();
      if (next.done) {
        this.#done = true;
        return false;
      }
      this.#cur = next.value;
      this.#off = 0;
    }
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    if (!(await this.#fill())) return Buffer.alloc(0);
    if (this.#cur.length - this.#off >= n) {
      const out = this.#cur.subarray(this.#off, this.#off + n);
      this.#off += n;
      return out;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0 && (await this.#fill())) {
      const take = Math.min(need, this.#cur.length - this.#off);
      parts.push(this.#cur.subarray(this.#off, this.#off + take));
      this.#off += take;
      need -= take;
    }
    return Buffer.concat(parts);
  }

  /** Up to n bytes as they arrive, without concatenating. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let need = n;
    while (need > 0) {
      if (!(await this.#fill())) return;
      const take = Math.min(need, this.#cur.length - this.#off);
      const out = this.#cur.subarray(this.#off, this.#off + take);
      this.#off += take;
      need -= take;
      yield out;
    }
  }

  /** Skips n bytes; returns how many were skipped (fewer at the end). */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    for await (const c of this.chunks(n)) skipped += c.length;
    return skipped;
  }

  /** Reads to the end, so a digest over the stream covers every byte. */
  async drain(): Promise<void> {
    while (await this.#fill()) this.#off = this.#cur.length;
  }
}

function parseNumber(buf: Buffer, field: string, name: string): number {
  if (buf.length > 0 && (buf[0]! & 0x80) !== 0) {
    // GNU base-256: only positive values make sense for sizes, ids and times here.
    if (buf[0] !== 0x80) throw unpackError('read tar header', name, `negative base-256 ${field}`);
    let v = 0;
    for (let i = 1; i < buf.length; i++) v = v * 256 + buf[i]!;
    if (!Number.isSafeInteger(v)) throw unpackError('read tar header', name, `${field} is too large`);
    return v;
  }
  const s = buf
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw unpackError('read tar header', name, `${field} is not an octal number`);
  return Number.parseInt(s, 8);
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
}

function checksumOk(h: Buffer): boolean {
  const stored = h
    .subarray(148, 156)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  const want = Number.parseInt(stored, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false;
  return true;
}

/** Parses "123.456" (PAX time) into a timespec with ns precision. */
export function parsePaxTime(v: string, name: string): Timespec {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(v);
  if (!m) throw unpackError('read PAX header', name, `invalid time "${v}"`);
  const sec = BigInt(m[2]!);
  const nsec = Number(((m[3] ?? '') + '000000000').slice(0, 9));
  if (m[1] !== '-') return { sec, nsec };
  return nsec === 0 ? { sec: -sec, nsec: 0 } : { sec: -sec - 1n, nsec: 1_000_000_000 - nsec };
}

/** Parses PAX records ("%d %s=%s\n"), keeping values as raw bytes. */
function parsePax(buf: Buffer, into: Map<string, Buffer>, name: string): void {
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) break; // trailing NUL padding written by some tools
    const sp = buf.indexOf(0x20, off);
    const lenText = sp === -1 ? '' : buf.subarray(off, sp).toString('latin1');
    if (!/^[1-9]\d*$/.test(lenText)) throw unpackError('read PAX header', name, 'malformed record length');
    const len = Number(lenText);
    const end = off + len;
    if (end > buf.length || buf[end - 1] !== 0x0a) {
      throw unpackError('read PAX header', name, 'record length runs past the header');
    }
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq === -1 || eq >= end) throw unpackError('read PAX header', name, 'record without "="');
    into.set(buf.subarray(sp + 1, eq).toString('utf8'), Buffer.from(buf.subarray(eq + 1, end - 1)));
    off = end;
  }
}

function paxDecimal(v: Buffer, key: string, name: string): number {
  const s = v.toString('latin1');
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw unpackError('read PAX header', name, `${key} "${s}" is not a decimal number`);
  }
  return Number(s);
}

const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

/**
 * Yields the entries of a tar stream. The consumer reads each regular file's data
 * with `reader.chunks(entry.size)` (or not at all) before asking for the next entry;
 * whatever it leaves is skipped.
 */
export async function* readTar(reader: ByteReader, limits: UnpackLimits): AsyncGenerator<TarEntry> {
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let headers = 0;
  for (;;) {
    const h = await reader.read(BLOCK);
    if (h.length === 0) return; // a stream without the end-of-archive blocks
    if (h.length < BLOCK) throw unpackError('read tar header', undefined, 'truncated tar stream');
    if (isZeroBlock(h)) return;
    if (++headers > limits.maxEntries) {
      throw unpackError(
        'read tar header',
        undefined,
        `more than ${limits.maxEntries} entries (limit maxEntries)`,
      );
    }
    const rawName = cString(h.subarray(0, 100));
    if (!checksumOk(h))
      throw unpackError('read tar header', rawName, 'bad header checksum (corrupt or not a tar)');
    const flag = String.fromCharCode(h[156]!);
    const headerSize = parseNumber(h.subarray(124, 136), 'size', rawName);

    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (headerSize > limits.maxPaxHeaderSize) {
        throw unpackError(
          'read tar header',
          rawName,
          `extended header of ${headerSize} bytes exceeds maxPaxHeaderSize ${limits.maxPaxHeaderSize}`,
        );
      }
      const body = await reader.read(headerSize);
      if (body.length < headerSize)
        throw unpackError('read tar header', rawName, 'truncated extended header');
      await reader.skip(pad(headerSize));
      if (flag === 'x') parsePax(body, pax, rawName);
      // Global headers are parsed for validity but not applied, as Go's archive/tar
      // (containerd, Docker) does: image layers must not depend on them.
      else if (flag === 'g') parsePax(body, new Map(), rawName);
      else if (flag === 'L') longName = cString(body);
      else longLink = cString(body);
      continue;
    }

    const ustar = h.subarray(257, 263).toString('latin1') === 'ustar\0';
    const prefix = ustar ? cString(h.subarray(345, 500)) : '';
    let name = pax.has('path') ? pax.get('path')!.toString('utf8') : (longName ?? rawName);
    if (!pax.has('path') && longName === undefined && prefix !== '') name = `${prefix}/${rawName}`;
    let type = typeFlags[flag];
    if (type === undefined) {
      throw unpackError(
        'read tar entry',
        name,
        `unsupported entry type '${flag.replace(/[^\x20-\x7e]/g, '?')}' (sparse, multi-volume and vendor types are refused)`,
      );
    }
    const size = pax.has('size') ? paxDecimal(pax.get('size')!, 'size', name) : headerSize;
    if ((flag === '\0' || flag === '0') && name.endsWith('/') && size === 0) type = 'dir';
    if (type !== 'file' && size !== 0) {
      // Readers disagree on whether such data exists (Go skips nothing for these types
      // after zeroing the size; tar-stream parses it as headers): refuse the ambiguity.
      throw unpackError('read tar entry', name, `a ${type} entry carries ${size} bytes of data`);
    }
    if (size > limits.maxEntrySize) {
      throw unpackError('read tar entry', name, `${size} bytes exceeds maxEntrySize ${limits.maxEntrySize}`);
    }
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice(13), v);
    const entry: TarEntry = {
      type,
      name,
      linkname: pax.has('linkpath')
        ? pax.get('linkpath')!.toString('utf8')
        : (longLink ?? cString(h.subarray(157, 257))),
      mode: parseNumber(h.subarray(100, 108), 'mode', name) & 0o7777,
      uid: pax.has('uid')
        ? paxDecimal(pax.get('uid')!, 'uid', name)
        : parseNumber(h.subarray(108, 116), 'uid', name),
      gid: pax.has('gid')
        ? paxDecimal(pax.get('gid')!, 'gid', name)
        : parseNumber(h.subarray(116, 124), 'gid', name),
      size,
      mtime: pax.has('mtime')
        ? parsePaxTime(pax.get('mtime')!.toString('latin1'), name)
        : { sec: BigInt(parseNumber(h.subarray(136, 148), 'mtime', name)), nsec: 0 },
      devmajor:
        ustar || flag === '3' || flag === '4' ? parseNumber(h.subarray(329, 337), 'devmajor', name) : 0,
      devminor:
        ustar || flag === '3' || flag === '4' ? parseNumber(h.subarray(337, 345), 'devminor', name) : 0,
      xattrs,
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    yield entry;
    if (type === 'file') {
      // The consumer may have read some or all of the data; EntryBody tracks it.
      const left = bodyLeft.get(entry) ?? size;
      bodyLeft.delete(entry);
      if ((await reader.skip(left)) < left) throw unpackError('read tar entry', name, 'truncated file data');
      await reader.skip(pad(size));
    }
  }
}

const bodyLeft = new WeakMap<TarEntry, number>();

/** The data of a regular file entry, in chunks as they arrive. */
export async function* entryData(reader: ByteReader, entry: TarEntry): AsyncGenerator<Buffer> {
  let left = bodyLeft.get(entry) ?? entry.size;
  try {
    for await (const c of reader.chunks(left)) {
      left -= c.length;
      yield c;
    }
  } finally {
    bodyLeft.set(entry, left);
  }
  if (left > 0) throw unpackError('read tar entry', entry.name, 'truncated file data');
}
