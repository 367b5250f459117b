// `ctr bundle`: an image of the store → an OCI bundle (rootfs/ + config.json).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  defaultRuntimeConfig,
  imageConfigToRuntimeConfig,
  type RuntimeConfig,
  serializeJson,
} from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { readRootfsFile, type UnpackedImage, type UnpackImageOptions, unpackImage } from './unpack-image.ts';

export interface CreateBundleOptions extends Omit<UnpackImageOptions, 'target'> {
  /** The bundle directory; created if missing, must not hold a config.json or rootfs yet. */
  dir: string;
  /** A config for an unprivileged caller (user namespace, no cgroup limits), like `runc spec --rootless`. */
  rootless?: boolean | undefined;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  config: RuntimeConfig;
  unpacked: UnpackedImage;
}

/** Unpacks `ref` into DIR/rootfs and writes DIR/config.json generated from the image config. */
export async function createBundle(opts: CreateBundleOptions): Promise<Bundle> {
  const configPath = join(opts.dir, 'config.json');
  const rootfs = join(opts.dir, 'rootfs');
  for (const p of [configPath, rootfs]) {
    if (existsSync(p)) {
      throw new CtrError({
        stage: 'containers',
        op: 'create bundle',
        path: p,
        hint: 'it exists already; remove it or choose another directory',
      });
    }
  }
  mkdirSync(opts.dir, { recursive: true });
  const unpacked = await unpackImage({ ...opts, target: rootfs });
  const config = imageConfigToRuntimeConfig(unpacked.image.config, {
    base: defaultRuntimeConfig({ rootless: opts.rootless === true }),
    readRootfsFile: (path) => readRootfsFile(rootfs, path),
  });
  config.root = { ...config.root, path: 'rootfs' };
  writeFileSync(configPath, `${serializeJson(config, '\t')}\n`, { mode: 0o644 });
  return { dir: opts.dir, rootfs, config, unpacked };
}
