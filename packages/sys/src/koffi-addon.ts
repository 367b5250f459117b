// koffi's entry point requires https, zlib and crypto for its installer's download
// code (~18 ms, and a thread reading the CA bundle) before it loads its prebuilt
// addon. ctr is a fresh process per command, so it loads the addon itself, with the
// same version check koffi makes, and falls back to koffi's loader for anything
// unusual (another platform, a rebuilt addon, a bundler's layout).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type koffiModule from 'koffi';

export type Koffi = typeof koffiModule;

const require = createRequire(import.meta.url);

/** The directory koffi keeps its prebuilt addon for this host in, if it ships one. */
function prebuiltTriplet(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  // The glibc builds; on a musl host their require fails and koffi's loader finds
  // its musl build, as koffi itself does.
  switch (process.arch) {
    case 'x64':
      return 'linux_x64';
    case 'arm64':
      return 'linux_arm64';
    default:
      return undefined;
  }
}

export function loadKoffi(): Koffi {
  const triplet = prebuiltTriplet();
  if (triplet !== undefined) {
    try {
      const pkgJson = require.resolve('koffi/package.json');
      const { version } = require(pkgJson) as { version: string };
      const native = require(join(dirname(pkgJson), 'build/koffi', triplet, 'koffi.node')) as Koffi & {
        version?: string;
      };
      if (native.version === version) return native;
    } catch {
      // koffi's own loader below reports what is really wrong.
    }
  }
  return require('koffi') as Koffi;
}
