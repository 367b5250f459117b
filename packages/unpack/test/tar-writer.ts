// Writes tar streams byte by byte so tests can express what well-behaved writers
// never produce (escaping names, lying sizes, huge PAX records).
import { gzipSync } from 'node:zlib';

export interface RawEntry {
  name: string;
  /** '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo, or any flag byte. */
  type?: string;
  data?: Buffer | string;
  /** Overrides the header size field (defaults to data length). */
  size?: number;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  /** Records of a PAX header written before this entry. */
  pax?: Record<string, string | Buffer>;
  /** Writes the name through a GNU 'L' record. */
  gnuLongName?: boolean;
  gnuLongLink?: boolean;
}

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(`${v.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

function header(name: string, e: Partial<RawEntry>, type: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode ?? (type === '5' ? 0o755 : 0o644));
  octal(h, 108, 8, e.uid ?? 0);
  octal(h, 116, 8, e.gid ?? 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, e.mtime ?? 1_700_000_000);
  h.write('        ', 148, 8, 'latin1');
  h.write(type, 156, 1, 'latin1');
  h.write(e.linkname ?? '', 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 8, 'latin1');
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

function padded(data: Buffer): Buffer[] {
  const rest = (512 - (data.length % 512)) % 512;
  return rest ? [data, Buffer.alloc(rest)] : [data];
}

export function paxRecords(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.from(String(len)), body);
  }
  return Buffer.concat(parts);
}

/** A whole uncompressed tar stream with end-of-archive blocks. */
export function tar(entries: RawEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? '0';
    if (e.pax) {
      const body = paxRecords(e.pax);
      out.push(header('PaxHeaders/x', {}, 'x', body.length), ...padded(body));
    }
    if (e.gnuLongName) {
      const body = Buffer.from(`${e.name}\0`);
      out.push(header('././@LongLink', {}, 'L', body.length), ...padded(body));
    }
    if (e.gnuLongLink) {
      const body = Buffer.from(`${e.linkname ?? ''}\0`);
      out.push(header('././@LongLink', {}, 'K', body.length), ...padded(body));
    }
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const name = e.gnuLongName ? e.name.slice(0, 99) : e.name;
    const linkEntry = e.gnuLongLink ? { ...e, linkname: (e.linkname ?? '').slice(0, 99) } : e;
    out.push(header(name, linkEntry, type, e.size ?? data.length));
    if (data.length) out.push(...padded(data));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

export const tgz = (entries: RawEntry[]): Buffer => gzipSync(tar(entries));
