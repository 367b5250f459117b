// The on-disk shape of the store: an OCI image layout (image-spec, image-layout.md)
// plus an `ingest/` directory of temp files and lock files that skopeo and umoci ignore.
import { existsSync, linkSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type ImageIndex, MediaType } from '@ctr/spec';
import { checkDigest } from './digest.ts';
import { imageError, nodeCode } from './errors.ts';

export const INGEST_DIR = 'ingest';
/** Held shared by everything that adds blobs not yet referenced; gc holds it exclusively. */
export const GC_LOCK = 'gc.lock';
/** Serialises read-modify-write cycles of index.json between processes. */
export const INDEX_LOCK = 'index.lock';

export class Layout {
  readonly root: string;
  readonly ingestDir: string;

  constructor(root: string) {
    this.root = root;
    this.ingestDir = join(root, INGEST_DIR);
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = checkDigest(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  lockPath(name: string): string {
    return join(this.ingestDir, name);
  }

  /**
   * Creates the layout if it is missing. `oci-layout` and `index.json` are created
   * with link(2) from a private temp file, which fails rather than replaces: two
   * processes opening a fresh store at once cannot wipe each other's first ref.
   */
  init(): void {
    try {
      mkdirSync(join(this.root, 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
      mkdirSync(this.ingestDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw imageError(
        'create store',
        'check that the store directory (--store, CTR_STORE) is writable',
        this.root,
        e,
      );
    }
    this.createOnce('oci-layout', { imageLayoutVersion: '1.0.0' });
    const empty: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] };
    this.createOnce('index.json', empty);
  }

  private createOnce(name: string, value: unknown): void {
    // An existing store is left untouched, so read-only users can open it.
    if (existsSync(join(this.root, name))) return;
    const tmp = join(this.ingestDir, `${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(value)}\n`, { mode: 0o644 });
    try {
      linkSync(tmp, join(this.root, name));
    } catch (e) {
      if (nodeCode(e) !== 'EEXIST') throw imageError(`create ${name}`, undefined, this.root, e);
    } finally {
      unlinkSync(tmp);
    }
  }

  async readIndex(): Promise<ImageIndex> {
    const path = join(this.root, 'index.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw imageError('read index.json', 'the store is not an OCI image layout', path, e);
    }
    try {
      const index = JSON.parse(text) as ImageIndex;
      if (!Array.isArray(index.manifests)) throw new Error('manifests is not an array');
      return index;
    } catch (e) {
      throw imageError('parse index.json', (e as Error).message, path);
    }
  }

  /** Replaces index.json atomically and durably: temp file, fsync, rename, fsync the directory. */
  async writeIndex(index: ImageIndex): Promise<void> {
    await this.writeFileAtomic('index.json', `${JSON.stringify(index)}\n`);
  }

  async writeFileAtomic(name: string, content: string): Promise<void> {
    const tmp = join(this.ingestDir, `${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.root, name));
    await fsyncDir(this.root);
  }
}

/** Makes a rename in `dir` durable (a rename is only on disk once its directory is). */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
