// Capability sets of the calling thread through capget/capset version 3 (64-bit sets).
import { readFileSync } from 'node:fs';
import { rawSyscall } from './libc.ts';

/** Capability numbers from linux/capability.h, index = number. */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** Three capability sets as 64-bit masks (bit n = capability n). */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/**
 * The highest capability number the running kernel knows
 * (/proc/sys/kernel/cap_last_cap). Capabilities above it cannot be held or dropped.
 */
export function capLastCap(): number {
  return Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
}

function header(tid: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  h.writeInt32LE(tid, 4);
  return h;
}

const join = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);

/** Reads the effective, permitted and inheritable sets of a thread (capget(2); 0 = the calling thread). */
export function capget(tid = 0): CapSets {
  const data = Buffer.alloc(24);
  rawSyscall('capget', [
    ['uint8_t *', header(tid)],
    ['uint8_t *', data],
  ]);
  return {
    effective: join(data.readUInt32LE(0), data.readUInt32LE(12)),
    permitted: join(data.readUInt32LE(4), data.readUInt32LE(16)),
    inheritable: join(data.readUInt32LE(8), data.readUInt32LE(20)),
  };
}

/**
 * Sets the effective, permitted and inheritable sets of the calling thread (capset(2)).
 * The kernel refuses (EPERM) to add to permitted, or to inheritable beyond
 * permitted ∪ bounding without CAP_SETPCAP.
 */
export function capset(sets: CapSets): void {
  const data = Buffer.alloc(24);
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
  data.writeUInt32LE(lo(sets.effective), 0);
  data.writeUInt32LE(lo(sets.permitted), 4);
  data.writeUInt32LE(lo(sets.inheritable), 8);
  data.writeUInt32LE(hi(sets.effective), 12);
  data.writeUInt32LE(hi(sets.permitted), 16);
  data.writeUInt32LE(hi(sets.inheritable), 20);
  rawSyscall(
    'capset',
    [
      ['uint8_t *', header(0)],
      ['uint8_t *', data],
    ],
    undefined,
    'a capability was asked for that the thread does not hold in its permitted set (or bounding set for inheritable)',
  );
}
