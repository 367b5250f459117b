// The single place where koffi is loaded. Everything else in ctr reaches the kernel
// through the typed wrappers of this package.
import { type RawSyscall, syscallNumber } from './arch.ts';
import { SysError } from './errors.ts';
import { loadKoffi } from './koffi-addon.ts';

const koffi = loadKoffi();

export const libc = koffi.load('libc.so.6');

/** errno of the last libc call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

/** Throws a SysError if a libc-style return value signals failure (-1 / negative). */
export function check<T extends number | bigint>(syscall: string, ret: T, path?: string, hint?: string): T {
  if (ret < 0) throw new SysError(syscall, lastErrno(), path, hint);
  return ret;
}

const variadicSyscall = libc.func('long syscall(long nr, ...)');

/** One argument of a raw syscall: a koffi type name and its value. */
export type SyscallArg = readonly [type: string, value: unknown];

/**
 * Calls a raw syscall by name with typed arguments and returns its result, throwing
 * SysError on failure. Used for calls glibc does not wrap (openat2, the new mount
 * API, pidfd_*) and for the per-thread identity calls glibc would broadcast.
 */
export function rawSyscall(
  name: RawSyscall,
  args: readonly SyscallArg[],
  path?: string,
  hint?: string,
): number {
  const flat: unknown[] = [];
  for (const [type, value] of args) flat.push(type, value);
  const ret = Number(variadicSyscall(syscallNumber(name), ...flat));
  return check(name, ret, path, hint);
}

export { koffi };
