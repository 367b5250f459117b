// seccomp(2): loading a classic-BPF syscall filter on the calling thread. The filter
// itself is compiled by @ctr/seccomp; this file only talks to the kernel. (The
// listener fd of SCMP_ACT_NOTIFY travels with socket.ts's connectUnix and sendFds.)
import { check, koffi, libc, rawSyscall } from './libc.ts';

/** seccomp(2) operations (linux/seccomp.h). */
export const SECCOMP_OP = {
  SET_MODE_STRICT: 0,
  SET_MODE_FILTER: 1,
  GET_ACTION_AVAIL: 2,
  GET_NOTIF_SIZES: 3,
} as const;

const PR_SET_SECCOMP = 22;
const SECCOMP_MODE_FILTER = 2;

const SockFprog = koffi.struct('ctr_sock_fprog', { len: 'uint16_t', filter: 'void *' });
const SockFprogPtr = koffi.pointer(SockFprog);
const _prctl = libc.func(
  'int prctl(int option, unsigned long arg2, ctr_sock_fprog *arg3, unsigned long arg4, unsigned long arg5)',
);

function fprog(program: Buffer): { len: number; filter: Buffer } {
  if (program.length === 0 || program.length % 8 !== 0 || program.length / 8 > 0xffff) {
    throw new RangeError(
      `sys: a BPF program is a non-empty array of 8-byte instructions, not ${program.length} bytes`,
    );
  }
  return { len: program.length / 8, filter: program };
}

/**
 * Loads a seccomp filter (an array of `struct sock_filter`) on the calling thread
 * with seccomp(2) SECCOMP_SET_MODE_FILTER. Irreversible: the thread and every
 * process it execs or spawns stay filtered. Returns the listener fd when `flags`
 * has SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0.
 */
export function seccompSetModeFilter(program: Buffer, flags: number): number {
  return rawSyscall(
    'seccomp',
    [
      ['unsigned int', SECCOMP_OP.SET_MODE_FILTER],
      ['unsigned int', flags],
      [SockFprogPtr as unknown as string, fprog(program)],
    ],
    undefined,
    'seccomp filters need no_new_privs set on the thread or CAP_SYS_ADMIN (EACCES), a valid program and flags this kernel knows (EINVAL)',
  );
}

/**
 * Loads a seccomp filter on the calling thread through prctl(PR_SET_SECCOMP), the
 * interface older than seccomp(2); it takes no flags.
 */
export function prctlSetSeccompFilter(program: Buffer): void {
  check(
    'prctl',
    _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog(program), 0, 0),
    undefined,
    'PR_SET_SECCOMP needs no_new_privs set on the thread or CAP_SYS_ADMIN',
  );
}

/** Whether this kernel knows a filter return action (SECCOMP_GET_ACTION_AVAIL); changes nothing. */
export function seccompActionAvailable(action: number): boolean {
  try {
    rawSyscall('seccomp', [
      ['unsigned int', SECCOMP_OP.GET_ACTION_AVAIL],
      ['unsigned int', 0],
      ['uint32_t *', new Uint32Array([action >>> 0])],
    ]);
    return true;
  } catch {
    return false;
  }
}
