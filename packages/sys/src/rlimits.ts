// Resource limits, umask and the scheduling/IO/personality attributes a container's
// process starts with.
import { check, libc, rawSyscall } from './libc.ts';

/** RLIMIT_* resource numbers (asm-generic/resource.h; the same on x86_64 and aarch64). */
export const RLIMIT = {
  CPU: 0,
  FSIZE: 1,
  DATA: 2,
  STACK: 3,
  CORE: 4,
  RSS: 5,
  NPROC: 6,
  NOFILE: 7,
  MEMLOCK: 8,
  AS: 9,
  LOCKS: 10,
  SIGPENDING: 11,
  MSGQUEUE: 12,
  NICE: 13,
  RTPRIO: 14,
  RTTIME: 15,
} as const;
export type RlimitName = keyof typeof RLIMIT;

/** The "no limit" value of a resource limit. */
export const RLIM_INFINITY = 2n ** 64n - 1n;

export interface RlimitValue {
  soft: bigint;
  hard: bigint;
}

const _prlimit = libc.func(
  'int prlimit(int pid, int resource, const uint8_t *newLimit, _Out_ uint8_t *oldLimit)',
);
const _umask = libc.func('uint32_t umask(uint32_t mask)');
const _schedGetScheduler = libc.func('int sched_getscheduler(int pid)');

/**
 * Reads and optionally sets a resource limit of process `pid` (prlimit64(2); 0 = the
 * calling process — limits are process-wide, shared by all threads). Raising a hard
 * limit needs CAP_SYS_RESOURCE.
 */
export function prlimit(pid: number, resource: number, next?: RlimitValue): RlimitValue {
  const old = Buffer.alloc(16);
  let buf: Buffer | null = null;
  if (next) {
    buf = Buffer.alloc(16);
    buf.writeBigUInt64LE(next.soft, 0);
    buf.writeBigUInt64LE(next.hard, 8);
  }
  check(
    'prlimit',
    _prlimit(pid, resource, buf, old),
    undefined,
    next
      ? 'raising a hard limit needs CAP_SYS_RESOURCE; a soft limit may not exceed the hard limit'
      : undefined,
  );
  return { soft: old.readBigUInt64LE(0), hard: old.readBigUInt64LE(8) };
}

/**
 * Sets the file mode creation mask and returns the previous one (umask(2)). The mask
 * belongs to the fs context: process-wide unless the thread unshared CLONE_FS.
 */
export function umask(mask: number): number {
  return _umask(mask);
}

/** personality(2) domains and flags (linux/personality.h). */
export const PERSONALITY = {
  LINUX: 0x0000,
  LINUX32: 0x0008,
  ADDR_NO_RANDOMIZE: 0x0040000,
  /** Query without changing. */
  QUERY: 0xffffffff,
} as const;

/** Sets the calling thread's execution domain and returns the previous one (personality(2)). */
export function personality(persona: number): number {
  return rawSyscall('personality', [['unsigned long', persona]]);
}

/** ioprio_set(2) classes. */
export const IOPRIO_CLASS = { NONE: 0, RT: 1, BE: 2, IDLE: 3 } as const;
const IOPRIO_WHO_PROCESS = 1;
const IOPRIO_CLASS_SHIFT = 13;

/** Sets the I/O scheduling class and level (0..7) of the calling thread (ioprio_set(2), who = 0). */
export function ioprioSet(ioClass: number, level: number): void {
  rawSyscall(
    'ioprio_set',
    [
      ['int', IOPRIO_WHO_PROCESS],
      ['int', 0],
      ['int', (ioClass << IOPRIO_CLASS_SHIFT) | level],
    ],
    undefined,
    ioClass === IOPRIO_CLASS.RT ? 'the realtime I/O class needs CAP_SYS_ADMIN (or CAP_SYS_NICE)' : undefined,
  );
}

/** sched_setattr(2) policies and flags. */
export const SCHED = {
  OTHER: 0,
  FIFO: 1,
  RR: 2,
  BATCH: 3,
  ISO: 4,
  IDLE: 5,
  DEADLINE: 6,
} as const;
export const SCHED_FLAG = {
  RESET_ON_FORK: 0x01,
  RECLAIM: 0x02,
  DL_OVERRUN: 0x04,
  KEEP_POLICY: 0x08,
  KEEP_PARAMS: 0x10,
  UTIL_CLAMP_MIN: 0x20,
  UTIL_CLAMP_MAX: 0x40,
} as const;

export interface SchedAttr {
  policy: number;
  flags?: number;
  nice?: number;
  priority?: number;
  runtime?: bigint;
  deadline?: bigint;
  period?: bigint;
}

/** Sets the scheduling policy and attributes of the calling thread (sched_setattr(2), pid 0). */
export function schedSetattr(attr: SchedAttr): void {
  const SCHED_ATTR_SIZE_VER1 = 56;
  const buf = Buffer.alloc(SCHED_ATTR_SIZE_VER1);
  buf.writeUInt32LE(SCHED_ATTR_SIZE_VER1, 0);
  buf.writeUInt32LE(attr.policy, 4);
  buf.writeBigUInt64LE(BigInt(attr.flags ?? 0), 8);
  buf.writeInt32LE(attr.nice ?? 0, 16);
  buf.writeUInt32LE(attr.priority ?? 0, 20);
  buf.writeBigUInt64LE(attr.runtime ?? 0n, 24);
  buf.writeBigUInt64LE(attr.deadline ?? 0n, 32);
  buf.writeBigUInt64LE(attr.period ?? 0n, 40);
  rawSyscall(
    'sched_setattr',
    [
      ['int', 0],
      ['uint8_t *', buf],
      ['unsigned int', 0],
    ],
    undefined,
    'realtime policies, negative nice values and deadline scheduling need CAP_SYS_NICE',
  );
}

/** The calling thread's scheduling policy (sched_getscheduler(2)). */
export function schedGetScheduler(): number {
  return check('sched_getscheduler', _schedGetScheduler(0));
}
