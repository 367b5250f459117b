export { type RawSyscall, syscallNumber } from './arch.ts';
export * from './errors.ts';
export * from './fs.ts';
export { check, lastErrno, rawSyscall, type SyscallArg } from './libc.ts';
