import type { Transform } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { unpackError } from './errors.ts';

export type Compression = 'none' | 'gzip' | 'zstd';

const layerTypes: Record<string, Compression> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
};

/** The compression of a layer media type; unknown types are refused, not guessed. */
export function layerCompression(mediaType: string): Compression {
  const c = layerTypes[mediaType];
  if (c === undefined) {
    throw unpackError(
      'apply layer',
      undefined,
      `unsupported layer media type "${mediaType}" (expected an OCI or Docker tar, tar+gzip or tar+zstd layer)`,
    );
  }
  return c;
}

/** A streaming decompressor (zlib runs on the libuv pool), or undefined for plain tar. */
export function decompressor(c: Compression): Transform | undefined {
  if (c === 'gzip') return createGunzip({ chunkSize: 128 * 1024 });
  if (c === 'zstd') return createZstdDecompress({ chunkSize: 128 * 1024 });
  return undefined;
}
