import { arch as hostArch } from 'node:process';
import { CtrError } from '@ctr/sys';
import { aarch64 } from './tables/aarch64.ts';
import { x32 } from './tables/x32.ts';
import { x86 } from './tables/x86.ts';
import { x86_64 } from './tables/x86_64.ts';
import { x86Multiplexed } from './tables/x86-multiplexed.ts';

/** The architectures ctr has syscall tables for (generated from linux-libc-dev). */
export type SeccompArch = 'x86_64' | 'x86' | 'x32' | 'aarch64';

export interface ArchInfo {
  name: SeccompArch;
  /** The OCI / libseccomp name: SCMP_ARCH_X86_64. */
  ociName: string;
  /** AUDIT_ARCH_* from linux/audit.h: what the kernel puts in seccomp_data.arch. */
  auditArch: number;
  /**
   * Width of the ABI's syscall arguments. For 32-bit ABIs (ia32, and x32 whose
   * long and pointers are 32 bits) the called syscall only reads the low word, so
   * only the low word is compared, against the low 32 bits of the datum — as
   * libseccomp does, so profiles mean what they mean under runc and crun.
   */
  bits: 32 | 64;
  syscalls: Readonly<Record<string, number>>;
  /**
   * Calls this ABI also reaches through a multiplexer (x86: socketcall, ipc), named by
   * the multiplexer's first argument: [multiplexer, call number].
   */
  multiplexed?: Readonly<Record<string, readonly [string, number]>>;
}

// x32 shares AUDIT_ARCH_X86_64 with x86_64; the kernel tells them apart only by
// __X32_SYSCALL_BIT in the syscall number, so the filter must check that bit too.
export const X32_SYSCALL_BIT = 0x40000000;

export const ARCHES: Readonly<Record<SeccompArch, ArchInfo>> = {
  x86_64: { name: 'x86_64', ociName: 'SCMP_ARCH_X86_64', auditArch: 0xc000003e, bits: 64, syscalls: x86_64 },
  x86: {
    name: 'x86',
    ociName: 'SCMP_ARCH_X86',
    auditArch: 0x40000003,
    bits: 32,
    syscalls: x86,
    multiplexed: x86Multiplexed,
  },
  x32: { name: 'x32', ociName: 'SCMP_ARCH_X32', auditArch: 0xc000003e, bits: 32, syscalls: x32 },
  aarch64: {
    name: 'aarch64',
    ociName: 'SCMP_ARCH_AARCH64',
    auditArch: 0xc00000b7,
    bits: 64,
    syscalls: aarch64,
  },
};

const byOciName = new Map(Object.values(ARCHES).map((a) => [a.ociName, a]));

/** The ArchInfo of an OCI name (SCMP_ARCH_X86) or a short name (x86), or undefined. */
export function findArch(name: string): ArchInfo | undefined {
  return byOciName.get(name) ?? (ARCHES as Record<string, ArchInfo>)[name];
}

/** The ArchInfo of a name, or a CtrError naming the supported ones. */
export function archInfo(name: string): ArchInfo {
  const info = findArch(name);
  if (!info) {
    throw new CtrError({
      stage: 'seccomp',
      op: `select architecture ${name}`,
      hint: `supported: ${Object.keys(ARCHES).join(', ')} (or their SCMP_ARCH_* names); 32-bit arm has no syscall table because no installed kernel header numbers it`,
    });
  }
  return info;
}

/** The host's architecture: the one a filter is native to unless told otherwise. */
export function nativeArch(): SeccompArch {
  if (hostArch === 'x64') return 'x86_64';
  if (hostArch === 'arm64') return 'aarch64';
  throw new CtrError({
    stage: 'seccomp',
    op: `detect the native architecture (${hostArch})`,
    hint: 'ctr runs on x86_64 and aarch64; pass { arch } explicitly to compile for one of them',
  });
}

const reverse = new Map<SeccompArch, Map<number, string>>();

/** The syscall name of a number on an architecture, or undefined. */
export function syscallName(arch: SeccompArch, nr: number): string | undefined {
  let names = reverse.get(arch);
  if (!names) {
    names = new Map(Object.entries(ARCHES[arch].syscalls).map(([n, v]) => [v, n]));
    reverse.set(arch, names);
  }
  return names.get(nr);
}

/** The number of a syscall on an architecture, or undefined when it has none there. */
export function syscallNumber(arch: SeccompArch, name: string): number | undefined {
  const syscalls = ARCHES[arch].syscalls;
  return Object.hasOwn(syscalls, name) ? syscalls[name] : undefined;
}

const sorted = new Map<SeccompArch, [number, string][]>();

/** The syscalls of an architecture numbered lo..hi, in number order. */
export function syscallsInRange(arch: SeccompArch, lo: number, hi: number): string[] {
  let list = sorted.get(arch);
  if (!list) {
    list = Object.entries(ARCHES[arch].syscalls)
      .map(([name, nr]): [number, string] => [nr, name])
      .sort((a, b) => a[0] - b[0]);
    sorted.set(arch, list);
  }
  let first = 0;
  let end = list.length;
  while (first < end) {
    const mid = (first + end) >> 1;
    if (list[mid]![0] < lo) first = mid + 1;
    else end = mid;
  }
  const out: string[] = [];
  for (let i = first; i < list.length && list[i]![0] <= hi; i++) out.push(list[i]![1]);
  return out;
}
