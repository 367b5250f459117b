import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch as hostArch } from 'node:os';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import tar from 'tar-stream';
import { makeBusyboxRootfs } from './rootfs.ts';
import { makeTmp, removeTmp } from './tmp.ts';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** A blob of a built image: its exact bytes and the descriptor that names them. */
export interface ImageBlob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/**
 * One tar entry of a layer. `path` is written as given, so raw whiteout names
 * (`a/.wh.b`, `d/.wh..wh..opq`) are just entries.
 */
export interface LayerEntry {
  path: string;
  type: EntryType;
  content?: string | Uint8Array;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Written as PAX `SCHILY.xattr.<name>` records, as GNU tar and the OCI layer spec do. */
  xattrs?: Record<string, string>;
  /** Extra PAX records; forces a PAX header for this entry. */
  pax?: Record<string, string>;
}

export type Compression = 'gzip' | 'zstd' | 'none';

/** A layer from a list of entries, or from a directory tree on disk (walked with lstat). */
export type LayerSource =
  | { entries: LayerEntry[]; compression?: Compression }
  | { dir: string; compression?: Compression };

/** The `config` part of an image config that a runtime reads. */
export interface ImageRunConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
}

export interface BuildImageOptions {
  layers: LayerSource[];
  /** Default compression of the layers (gzip). Docker format allows only gzip. */
  compression?: Compression;
  config?: ImageRunConfig;
  /** The platform of the main image; defaults to the host's. */
  platform?: Platform;
  /** 'oci' (default) or 'docker' (schema2 media types). */
  format?: 'oci' | 'docker';
  /**
   * Also wrap the image in an index (or Docker manifest list). `true` adds a second,
   * fake platform (arm64/v8, or amd64 on an arm64 host) with the same layers.
   */
  index?: boolean | { extraPlatforms: Platform[] };
  created?: Date;
  annotations?: Record<string, string>;
}

/** One platform's image inside a built image. */
export interface PlatformImage {
  platform: Platform;
  manifest: ImageBlob;
  config: ImageBlob;
  layers: ImageBlob[];
}

export interface BuiltImage extends PlatformImage {
  /** The top-level object: the index when one was built, else the manifest. */
  top: ImageBlob;
  index?: ImageBlob;
  /** Every image in the index (the main one first); just the main one without an index. */
  images: PlatformImage[];
  /** The uncompressed layer digests of the main image, in order. */
  diffIds: string[];
  /** Every blob (manifests, index, configs, layers) by digest. */
  blobs: Map<string, ImageBlob>;
}

const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function blobOf(mediaType: string, bytes: Buffer, extra: Partial<Descriptor> = {}): ImageBlob {
  return { descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, ...extra }, bytes };
}

export function hostPlatform(): Platform {
  const map: Record<string, Platform> = {
    x64: { os: 'linux', architecture: 'amd64' },
    arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
    ia32: { os: 'linux', architecture: '386' },
    ppc64: { os: 'linux', architecture: 'ppc64le' },
    s390x: { os: 'linux', architecture: 's390x' },
    riscv64: { os: 'linux', architecture: 'riscv64' },
  };
  return map[hostArch()] ?? { os: 'linux', architecture: hostArch() };
}

const tarTypes = {
  file: 'file',
  dir: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
} as const;

// tar-stream replaces a falsy mode with its default; a bit above the 12 permission bits
// is masked off when the header is encoded, so it carries an explicit mode 0 through.
const MODE_ZERO = 0o1000000;

/** The uncompressed tar of a list of entries, written with tar-stream. */
export async function tarEntries(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const e of entries) {
    const content = e.type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    const pax: Record<string, string> = { ...e.pax };
    for (const [k, v] of Object.entries(e.xattrs ?? {})) pax[`SCHILY.xattr.${k}`] = v;
    const mode = e.mode ?? (e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644);
    const header: Partial<tar.Header> & { name: string } = {
      name: e.path,
      type: tarTypes[e.type],
      mode: mode === 0 ? MODE_ZERO : mode,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? FIXED_MTIME,
      linkname: e.linkname ?? '',
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
      ...(e.uname !== undefined ? { uname: e.uname } : {}),
      ...(e.gname !== undefined ? { gname: e.gname } : {}),
      ...(Object.keys(pax).length > 0 ? { pax } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      pack.entry(header, content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/**
 * The entries of a directory tree, parents before children, sorted by name so the
 * same tree always gives the same layer. A second path to an inode becomes a hard link.
 * Sockets are skipped (tar cannot carry them); xattrs are not read.
 */
export function entriesFromDir(root: string): LayerEntry[] {
  const out: LayerEntry[] = [];
  const inodes = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(root, path);
      const st = lstatSync(full, { bigint: true });
      const base = { path, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
      if (st.isDirectory()) {
        out.push({ ...base, type: 'dir' });
        walk(path);
      } else if (st.isSymbolicLink()) {
        out.push({ ...base, type: 'symlink', linkname: readlinkSync(full) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1n ? inodes.get(key) : undefined;
        if (first !== undefined) out.push({ ...base, type: 'hardlink', linkname: first });
        else {
          if (st.nlink > 1n) inodes.set(key, path);
          out.push({ ...base, type: 'file', content: readFileSync(full) });
        }
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        // glibc's gnu_dev_major/minor split of the 64-bit dev_t.
        const devmajor = Number(((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn));
        const devminor = Number((st.rdev & 0xffn) | ((st.rdev >> 12n) & ~0xffn));
        out.push({ ...base, type: st.isCharacterDevice() ? 'char' : 'block', devmajor, devminor });
      } else if (st.isFIFO()) {
        out.push({ ...base, type: 'fifo' });
      }
    }
  };
  walk('');
  return out;
}

export function compress(bytes: Buffer, compression: Compression): Buffer {
  if (compression === 'gzip') return gzipSync(bytes);
  if (compression === 'zstd') return zstdCompressSync(bytes);
  return bytes;
}

function layerMediaType(format: 'oci' | 'docker', compression: Compression): string {
  if (format === 'docker') {
    if (compression !== 'gzip') throw new Error('testkit: Docker schema2 layers are gzip only');
    return MediaTypes.dockerLayerGzip;
  }
  if (compression === 'gzip') return MediaTypes.ociLayerGzip;
  if (compression === 'zstd') return MediaTypes.ociLayerZstd;
  return MediaTypes.ociLayer;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function fakePlatform(main: Platform): Platform {
  return main.architecture === 'arm64'
    ? { os: 'linux', architecture: 'amd64' }
    : { os: 'linux', architecture: 'arm64', variant: 'v8' };
}

/** Builds an OCI (or Docker schema2) image in memory: layers, config, manifest and optionally an index. */
export async function buildImage(opts: BuildImageOptions): Promise<BuiltImage> {
  const format = opts.format ?? 'oci';
  const created = (opts.created ?? FIXED_MTIME).toISOString();
  const layers: ImageBlob[] = [];
  const diffIds: string[] = [];
  for (const source of opts.layers) {
    const raw = await tarEntries('entries' in source ? source.entries : entriesFromDir(source.dir));
    const compression = source.compression ?? opts.compression ?? 'gzip';
    diffIds.push(sha256Digest(raw));
    layers.push(blobOf(layerMediaType(format, compression), compress(raw, compression)));
  }
  const blobs = new Map<string, ImageBlob>();
  const add = (b: ImageBlob): ImageBlob => {
    blobs.set(b.descriptor.digest, b);
    return b;
  };
  for (const l of layers) add(l);

  const imageFor = (platform: Platform): PlatformImage => {
    const config = add(
      blobOf(
        format === 'oci' ? MediaTypes.ociConfig : MediaTypes.dockerConfig,
        json({
          created,
          architecture: platform.architecture,
          os: platform.os,
          ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
          config: opts.config ?? {},
          rootfs: { type: 'layers', diff_ids: diffIds },
          history: opts.layers.map((_, i) => ({ created, created_by: `testkit layer ${i}` })),
        }),
      ),
    );
    const manifest = add(
      blobOf(
        format === 'oci' ? MediaTypes.ociManifest : MediaTypes.dockerManifest,
        json({
          schemaVersion: 2,
          mediaType: format === 'oci' ? MediaTypes.ociManifest : MediaTypes.dockerManifest,
          config: config.descriptor,
          layers: layers.map((l) => l.descriptor),
          ...(opts.annotations && format === 'oci' ? { annotations: opts.annotations } : {}),
        }),
      ),
    );
    return { platform, manifest, config, layers };
  };

  const main = imageFor(opts.platform ?? hostPlatform());
  const base = { ...main, diffIds, blobs };
  if (!opts.index) return { ...base, top: main.manifest, images: [main] };

  const extra = opts.index === true ? [fakePlatform(main.platform)] : opts.index.extraPlatforms;
  const images = [main, ...extra.map(imageFor)];
  const indexType = format === 'oci' ? MediaTypes.ociIndex : MediaTypes.dockerList;
  const index = add(
    blobOf(
      indexType,
      json({
        schemaVersion: 2,
        mediaType: indexType,
        manifests: images.map((i) => ({ ...i.manifest.descriptor, platform: i.platform })),
      }),
    ),
  );
  return { ...base, top: index, index, images };
}

/** A layout directory's index.json: which top-level objects it holds, by ref name. */
interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * Writes `image` into an OCI image layout at `dir` (created if needed) and names its
 * top-level object `refName` in index.json, replacing an earlier entry of that name.
 * skopeo reads it as `oci:<dir>:<refName>`, umoci as `--layout <dir>`.
 */
export function writeOciLayout(dir: string, image: BuiltImage, refName: string): Descriptor {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const { descriptor, bytes } of image.blobs.values()) {
    const file = join(dir, 'blobs', 'sha256', descriptor.digest.slice('sha256:'.length));
    if (!existsSync(file)) writeFileSync(file, bytes);
  }
  const indexPath = join(dir, 'index.json');
  const index: LayoutIndex = existsSync(indexPath)
    ? (JSON.parse(readFileSync(indexPath, 'utf8')) as LayoutIndex)
    : { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] };
  const top: Descriptor = { ...image.top.descriptor, annotations: { [REF_NAME]: refName } };
  index.manifests = [...index.manifests.filter((m) => m.annotations?.[REF_NAME] !== refName), top];
  writeFileSync(indexPath, JSON.stringify(index));
  return top;
}

export const BUSYBOX_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A one-layer image of Debian's busybox-static (see makeBusyboxRootfs), Cmd ["sh"].
 * Options other than `layers` pass through to buildImage; extra layers go on top.
 */
export async function busyboxImage(
  opts: Partial<BuildImageOptions> & { extraLayers?: LayerSource[] } = {},
): Promise<BuiltImage> {
  const dir = makeTmp('ctr-busybox-');
  try {
    makeBusyboxRootfs(dir);
    const { extraLayers = [], ...rest } = opts;
    return await buildImage({
      ...rest,
      layers: [{ dir }, ...extraLayers],
      config: { Env: [BUSYBOX_PATH_ENV], Cmd: ['sh'], ...opts.config },
    });
  } finally {
    removeTmp(dir);
  }
}

/**
 * One record of a hostile tar, written exactly as given: no name checks, no
 * normalisation. `size` may differ from `data` to lie about the body; `typeflag` is the
 * raw byte ('0' file, '5' dir, '2' symlink, '1' hardlink, 'x' PAX, 'g' global PAX,
 * 'L' GNU long name ...). `pax` records become a preceding 'x' header whose body is
 * built verbatim (so oversized values stay oversized).
 */
export interface RawTarRecord {
  name: string;
  typeflag?: string;
  data?: string | Uint8Array;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function rawHeader(r: RawTarRecord, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => Buffer.from(s, 'utf8').copy(h, off, 0, len);
  put(r.name, 0, 100);
  put(octal(r.mode ?? 0o644, 8), 100, 8);
  put(octal(r.uid ?? 0, 8), 108, 8);
  put(octal(r.gid ?? 0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(r.mtime ?? FIXED_MTIME.getTime() / 1000, 12), 136, 12);
  put(r.typeflag ?? '0', 156, 1);
  put(r.linkname ?? '', 157, 100);
  put('ustar\x0000', 257, 8);
  put(octal(r.devmajor ?? 0, 8), 329, 8);
  put(octal(r.devminor ?? 0, 8), 337, 8);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

function padded(data: Buffer): Buffer[] {
  const pad = (512 - (data.byteLength % 512)) % 512;
  return [data, Buffer.alloc(pad)];
}

function paxBody(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    const restLen = Buffer.byteLength(rest);
    // The length field counts its own digits.
    let len = restLen;
    while (String(len).length + restLen !== len) len = String(len).length + restLen;
    parts.push(Buffer.from(`${len}${rest}`));
  }
  return Buffer.concat(parts);
}

/** An uncompressed tar built byte by byte from `records`, for layers that must be hostile. */
export function rawTar(records: RawTarRecord[], opts: { endMarker?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  for (const r of records) {
    if (r.pax) {
      const body = paxBody(r.pax);
      out.push(rawHeader({ name: 'PaxHeaders/entry', typeflag: 'x' }, body.byteLength), ...padded(body));
    }
    const data = Buffer.from(r.data ?? '');
    out.push(rawHeader(r, r.size ?? data.byteLength), ...padded(data));
  }
  if (opts.endMarker !== false) out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
