import { arch } from 'node:os';
import { RegistryError } from './errors.ts';
import type { Descriptor, Platform } from './types.ts';

const NODE_TO_OCI: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

// The variant an image without one is assumed to be built for (containerd's
// platforms.Normalize does the same), so `linux/arm64` matches `linux/arm64/v8`.
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7' };

/** The platform this process runs on, as OCI names it. */
export function hostPlatform(): Platform {
  const architecture = NODE_TO_OCI[arch()] ?? arch();
  const variant = DEFAULT_VARIANT[architecture];
  return { os: 'linux', architecture, ...(variant ? { variant } : {}) };
}

/** Parses `os/arch[/variant]` (as `--platform` takes it). */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new RegistryError({
      kind: 'platform',
      op: `parse platform "${text}"`,
      hint: 'write the platform as os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8',
    });
  }
  const [os = '', architecture = '', variant] = parts.map((p) => p.toLowerCase());
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function variantOf(p: Platform): string | undefined {
  return p.variant ?? DEFAULT_VARIANT[p.architecture];
}

/** Whether an index entry's platform satisfies the wanted one (an unset wanted variant accepts any). */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  return wanted.variant === undefined || variantOf(candidate) === variantOf(wanted);
}

/**
 * The index entry for `wanted`; the first match wins, as in containerd. Attestation
 * manifests (platform unknown/unknown) never match a real platform.
 */
export function selectPlatform(manifests: Descriptor[], wanted: Platform, where: string): Descriptor {
  const match = manifests.find((m) => platformMatches(wanted, m.platform));
  if (match) return match;
  const available = manifests
    .map((m) => m.platform)
    .filter((p): p is Platform => p !== undefined && p.os !== 'unknown')
    .map(formatPlatform);
  throw new RegistryError({
    kind: 'platform',
    op: `select platform ${formatPlatform(wanted)} from the index of`,
    path: where,
    hint: available.length
      ? `the image offers ${available.join(', ')}; choose one with --platform`
      : 'the index lists no platforms at all',
  });
}
