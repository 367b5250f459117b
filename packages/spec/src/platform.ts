import { arch, platform } from 'node:process';
import type { Platform } from './image-types.ts';

const goArch: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** The host platform in OCI (GOOS/GOARCH) names: `{ os: 'linux', architecture: 'amd64' }`. */
export function hostPlatform(): Platform {
  const architecture = goArch[arch] ?? arch;
  const result: Platform = { os: platform, architecture };
  if (architecture === 'arm64') result.variant = 'v8';
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    result.variant = `v${typeof v === 'string' || typeof v === 'number' ? v : '7'}`;
  }
  return result;
}
