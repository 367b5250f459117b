import { arch } from 'node:process';

/**
 * Raw syscall numbers for the calls glibc does not wrap (or wraps in a way ctr must
 * not use, like its process-wide setuid broadcast). Only x86_64 and aarch64 are
 * supported hosts.
 */
const numbers = {
  x64: {
    setgroups: 116,
    setresuid: 117,
    setresgid: 119,
    capget: 125,
    capset: 126,
    personality: 135,
    pivot_root: 155,
    gettid: 186,
    tgkill: 234,
    ioprio_set: 251,
    sched_setattr: 314,
    seccomp: 317,
    bpf: 321,
    execveat: 322,
    pidfd_send_signal: 424,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    pidfd_open: 434,
    close_range: 436,
    openat2: 437,
    pidfd_getfd: 438,
    mount_setattr: 442,
  },
  arm64: {
    setgroups: 159,
    setresuid: 147,
    setresgid: 149,
    capget: 90,
    capset: 91,
    personality: 92,
    pivot_root: 41,
    gettid: 178,
    tgkill: 131,
    ioprio_set: 30,
    sched_setattr: 274,
    seccomp: 277,
    bpf: 280,
    execveat: 281,
    pidfd_send_signal: 424,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    pidfd_open: 434,
    close_range: 436,
    openat2: 437,
    pidfd_getfd: 438,
    mount_setattr: 442,
  },
} as const;

export type RawSyscall = keyof (typeof numbers)['x64'];

const table = arch === 'x64' ? numbers.x64 : arch === 'arm64' ? numbers.arm64 : undefined;

/** The host's number for a raw syscall. Throws on an unsupported architecture. */
export function syscallNumber(name: RawSyscall): number {
  if (!table) throw new Error(`sys: unsupported architecture ${arch}: ctr runs on x86_64 and aarch64`);
  return table[name];
}
