// Per-thread credentials. glibc's setuid/setgid/setgroups family signals every thread
// of the process to change credentials together (nptl's setxid broadcast); ctr changes
// ids on one sacrificial thread or in the init just before execve, so it calls the raw
// syscalls, which change only the calling thread.
import { check, libc, rawSyscall } from './libc.ts';

const KEEP = 0xffffffff;
const id = (v: number | undefined): number => (v === undefined || v === -1 ? KEEP : v);

const _getresuid = libc.func('int getresuid(_Out_ uint8_t *r, _Out_ uint8_t *e, _Out_ uint8_t *s)');
const _getresgid = libc.func('int getresgid(_Out_ uint8_t *r, _Out_ uint8_t *e, _Out_ uint8_t *s)');
const _getgroups = libc.func('int getgroups(int size, _Out_ uint8_t *list)');

export interface ResIds {
  real: number;
  effective: number;
  saved: number;
}

/**
 * Sets the real, effective and saved uid of the calling thread only (raw setresuid(2)).
 * An omitted or -1 value is left unchanged. Without SECBIT_KEEP_CAPS or PR_SET_KEEPCAPS,
 * leaving uid 0 clears the thread's permitted and effective capabilities.
 */
export function setresuid(real: number, effective = real, saved = real): void {
  rawSyscall('setresuid', [
    ['uint32_t', id(real)],
    ['uint32_t', id(effective)],
    ['uint32_t', id(saved)],
  ]);
}

/** Sets the real, effective and saved gid of the calling thread only (raw setresgid(2)). */
export function setresgid(real: number, effective = real, saved = real): void {
  rawSyscall('setresgid', [
    ['uint32_t', id(real)],
    ['uint32_t', id(effective)],
    ['uint32_t', id(saved)],
  ]);
}

/** Replaces the supplementary groups of the calling thread only (raw setgroups(2)). */
export function setgroups(gids: readonly number[]): void {
  const buf = Buffer.alloc(Math.max(4, gids.length * 4));
  gids.forEach((g, i) => {
    buf.writeUInt32LE(g, i * 4);
  });
  rawSyscall(
    'setgroups',
    [
      ['size_t', gids.length],
      ['uint8_t *', buf],
    ],
    undefined,
    gids.length > 65536 ? 'more than NGROUPS_MAX (65536) groups' : undefined,
  );
}

function triple(syscall: string, fn: (r: Buffer, e: Buffer, s: Buffer) => number): ResIds {
  const r = Buffer.alloc(4);
  const e = Buffer.alloc(4);
  const s = Buffer.alloc(4);
  check(syscall, fn(r, e, s));
  return { real: r.readUInt32LE(0), effective: e.readUInt32LE(0), saved: s.readUInt32LE(0) };
}

/** The calling thread's real, effective and saved uid (getresuid(2)). */
export function getresuid(): ResIds {
  return triple('getresuid', (r, e, s) => _getresuid(r, e, s));
}

/** The calling thread's real, effective and saved gid (getresgid(2)). */
export function getresgid(): ResIds {
  return triple('getresgid', (r, e, s) => _getresgid(r, e, s));
}

/** The calling thread's supplementary groups (getgroups(2)). */
export function getgroups(): number[] {
  const n = check('getgroups', _getgroups(0, null));
  if (n === 0) return [];
  const buf = Buffer.alloc(n * 4);
  const got = check('getgroups', _getgroups(n, buf));
  return Array.from({ length: got }, (_, i) => buf.readUInt32LE(i * 4));
}
