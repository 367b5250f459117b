// oci-archive (a tarred OCI image layout, what skopeo's oci-archive: and buildah
// write) and docker-save tarballs (manifest.json + <id>/layer.tar, or Docker 25's
// OCI layout with a manifest.json beside it). Export writes the Docker 25 shape, which
// both `docker load` and skopeo's oci-archive: and docker-archive: read.
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Annotation, type Descriptor, type ImageIndex, MediaType } from '@ctr/spec';
import tar from 'tar-stream';
import { checkDigest } from './digest.ts';
import { imageError } from './errors.ts';
import { canonicalRef } from './refs.ts';
import type { ImageStore } from './store.ts';

/** Metadata files of an archive are read into memory; anything bigger must be a blob or layer. */
const MAX_METADATA = 8 << 20;
/** containerd and Docker name images in an OCI archive's index.json with this annotation. */
const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name';

export interface ImportOptions {
  /** Name for an archive holding exactly one image (overrides the names inside). */
  ref?: string;
}

export interface ImportedImage {
  ref?: string;
  descriptor: Descriptor;
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const BLOB_PATH = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/;

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Imports every image of an oci-archive or docker-save tarball (optionally gzipped).
 * Blobs named by digest are verified against their names; docker-save layers are
 * hashed as they are stored. Entry names are never used as paths on this host.
 */
export async function importArchive(
  store: ImageStore,
  path: string,
  opts: ImportOptions = {},
): Promise<ImportedImage[]> {
  const lease = await store.lease();
  try {
    const files = new Map<string, Descriptor>();
    const small = new Map<string, Buffer>();
    const links = new Map<string, string>();
    const extract = tar.extract();
    const input = createReadStream(path);
    const feed = (await isGzip(path)) ? pipeline(input, createGunzip(), extract) : pipeline(input, extract);
    feed.catch(() => undefined);
    try {
      for await (const entry of extract) {
        const name = posix.normalize(entry.header.name).replace(/^(\.\/|\/)+/, '');
        const type = entry.header.type;
        if (type === 'symlink' || type === 'link') {
          // Old docker save links a repeated layer to its first copy.
          const target = entry.header.linkname ?? '';
          links.set(
            name,
            type === 'symlink'
              ? posix.normalize(posix.join(posix.dirname(name), target))
              : posix.normalize(target),
          );
          entry.resume();
          continue;
        }
        if (type !== 'file' && type !== 'contiguous-file') {
          entry.resume();
          continue;
        }
        const size = entry.header.size ?? 0;
        const blob = BLOB_PATH.exec(name);
        if (blob) {
          const digest = `${blob[1]}:${blob[2]}`;
          checkDigest(digest);
          const r = await store.ingest(
            { mediaType: 'application/octet-stream', digest, size },
            entry as unknown as AsyncIterable<Uint8Array>,
          );
          files.set(name, r.descriptor);
        } else if (name.endsWith('.tar')) {
          files.set(
            name,
            (await store.ingestUnknown(MediaType.Layer, entry as unknown as AsyncIterable<Uint8Array>))
              .descriptor,
          );
        } else if (size <= MAX_METADATA) {
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          small.set(name, Buffer.concat(chunks));
        } else {
          throw imageError(
            `import ${path}`,
            `entry ${name} (${size} bytes) is neither a blob nor a layer`,
            path,
          );
        }
      }
      await feed;
    } catch (e) {
      extract.destroy();
      throw e instanceof Error && 'stage' in e
        ? e
        : imageError(`import ${path}`, `not a readable tar archive: ${(e as Error).message}`, path, e);
    }

    const resolveLink = (p: string): string => {
      let cur = p;
      for (let i = 0; i < 16 && links.has(cur); i++) cur = links.get(cur)!;
      return cur;
    };

    let images: ImportedImage[];
    const indexJson = small.get('index.json');
    const manifestJson = small.get('manifest.json');
    if (indexJson) {
      const index = parseJson<ImageIndex>(indexJson, 'index.json', path);
      images = index.manifests.map((m) => {
        const name = m.annotations?.[CONTAINERD_IMAGE_NAME] ?? m.annotations?.[Annotation.RefName];
        const { [Annotation.RefName]: _r, [CONTAINERD_IMAGE_NAME]: _c, ...rest } = m.annotations ?? {};
        const descriptor: Descriptor = { ...m, annotations: rest };
        if (Object.keys(rest).length === 0) delete descriptor.annotations;
        return name === undefined ? { descriptor } : { ref: name, descriptor };
      });
    } else if (manifestJson) {
      images = [];
      for (const e of parseJson<DockerSaveEntry[]>(manifestJson, 'manifest.json', path)) {
        const configPath = resolveLink(e.Config);
        const configBytes =
          small.get(configPath) ??
          (files.has(configPath) ? await store.readBlob(files.get(configPath)!) : undefined);
        if (!configBytes)
          throw imageError(`import ${path}`, `config ${e.Config} named in manifest.json is missing`, path);
        const config = await store.putBytes(MediaType.ImageConfig, configBytes);
        const layers = e.Layers.map((l) => {
          const d = files.get(resolveLink(l));
          if (!d) throw imageError(`import ${path}`, `layer ${l} named in manifest.json is missing`, path);
          return { mediaType: MediaType.Layer, digest: d.digest, size: d.size };
        });
        const manifest = { schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers };
        const descriptor = await store.putBytes(
          MediaType.ImageManifest,
          Buffer.from(JSON.stringify(manifest)),
        );
        const tags = e.RepoTags ?? [];
        if (tags.length === 0) images.push({ descriptor });
        for (const ref of tags) images.push({ ref, descriptor });
      }
    } else {
      throw imageError(
        `import ${path}`,
        'neither index.json (oci-archive) nor manifest.json (docker save) is in the archive',
        path,
      );
    }

    if (opts.ref !== undefined) {
      const distinct = new Set(images.map((i) => i.descriptor.digest));
      if (distinct.size !== 1) {
        throw imageError(`import ${path}`, `--ref names one image, the archive holds ${distinct.size}`, path);
      }
      images = [{ ref: opts.ref, descriptor: images[0]!.descriptor }];
    }
    for (const image of images) {
      await checkComplete(store, image.descriptor, path);
      if (image.ref !== undefined) {
        image.ref = canonicalRef(image.ref);
        await store.setRef(image.ref, image.descriptor);
      }
    }
    return images;
  } finally {
    lease.release();
  }
}

function parseJson<T>(bytes: Buffer, name: string, path: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    throw imageError(`import ${path}`, `${name} is not JSON: ${(e as Error).message}`, path);
  }
}

/** Every blob an image needs must be in the store before it gets a name. */
async function checkComplete(store: ImageStore, top: Descriptor, path: string): Promise<void> {
  for (const d of (await store.blobsOf(top)).values()) {
    if (!(await store.hasBlob(d))) {
      throw imageError(`import ${path}`, `blob ${d.digest} is referenced but missing from the archive`, path);
    }
  }
}

/**
 * Writes the images named by `refs` into one tarball at `path`: an OCI layout
 * (index.json names each ref) plus Docker's manifest.json for every ref that has a
 * manifest for this host. Written to a temp file and renamed, so a failed export
 * leaves no truncated archive.
 */
export async function exportArchive(store: ImageStore, refs: string[], path: string): Promise<void> {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] };
  const dockerManifest: DockerSaveEntry[] = [];
  const blobs = new Map<string, Descriptor>();
  for (const ref of refs) {
    const top = await store.lookup(ref);
    const name = top.annotations?.[Annotation.RefName] ?? ref;
    index.manifests.push({
      ...top,
      annotations: { ...top.annotations, [Annotation.RefName]: name, [CONTAINERD_IMAGE_NAME]: name },
    });
    await store.blobsOf(top, blobs);
    const r = await store.resolveDescriptor(top).catch(() => undefined);
    if (r) {
      const blobName = (d: Descriptor) => `blobs/${d.digest.replace(':', '/')}`;
      dockerManifest.push({
        Config: blobName(r.manifest.config),
        RepoTags: [name],
        Layers: r.manifest.layers.map(blobName),
      });
    }
  }
  const tmp = `${path}.${process.pid}.tmp`;
  const pack = tar.pack();
  const out = pipeline(pack, createWriteStream(tmp, { mode: 0o644 }));
  try {
    const mtime = new Date(0);
    const addBytes = (name: string, text: string) =>
      new Promise<void>((resolve, reject) =>
        pack.entry({ name, mtime, mode: 0o644 }, Buffer.from(text), (err) => (err ? reject(err) : resolve())),
      );
    await addBytes('oci-layout', '{"imageLayoutVersion":"1.0.0"}');
    for (const d of blobs.values()) {
      if (!(await store.hasBlob(d))) continue;
      const entry = pack.entry({
        name: `blobs/${d.digest.replace(':', '/')}`,
        size: d.size,
        mtime,
        mode: 0o644,
      });
      await pipeline(store.openBlob(d, { verify: true }), entry);
    }
    await addBytes('index.json', JSON.stringify(index));
    await addBytes('manifest.json', JSON.stringify(dockerManifest));
    pack.finalize();
    await out;
    await rename(tmp, path);
  } catch (e) {
    pack.destroy();
    await out.catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e instanceof Error && 'stage' in e
      ? e
      : imageError(`export ${path}`, (e as Error).message, path, e);
  }
}
