// prctl(2) options the runtime needs, each as a typed function. All act on the calling
// thread except where noted.
import { check, libc } from './libc.ts';

const PR = {
  SET_PDEATHSIG: 1,
  GET_DUMPABLE: 3,
  SET_DUMPABLE: 4,
  GET_KEEPCAPS: 7,
  SET_KEEPCAPS: 8,
  SET_NAME: 15,
  GET_NAME: 16,
  CAPBSET_READ: 23,
  CAPBSET_DROP: 24,
  SET_CHILD_SUBREAPER: 36,
  GET_CHILD_SUBREAPER: 37,
  SET_NO_NEW_PRIVS: 38,
  GET_NO_NEW_PRIVS: 39,
  CAP_AMBIENT: 47,
} as const;

const AMBIENT = { IS_SET: 1, RAISE: 2, LOWER: 3, CLEAR_ALL: 4 } as const;

const _prctl = libc.func(
  'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
);
const _prctlStr = libc.func(
  'int prctl(int option, str a2, unsigned long a3, unsigned long a4, unsigned long a5)',
);
const _prctlOut = libc.func(
  'int prctl(int option, _Out_ uint8_t *a2, unsigned long a3, unsigned long a4, unsigned long a5)',
);

function prctl(name: string, option: number, a2 = 0, a3 = 0, hint?: string): number {
  return check(`prctl ${name}`, _prctl(option, a2, a3, 0, 0), undefined, hint);
}

/** Whether capability `cap` is in the calling thread's bounding set (PR_CAPBSET_READ). */
export function capbsetRead(cap: number): boolean {
  return prctl('PR_CAPBSET_READ', PR.CAPBSET_READ, cap) === 1;
}

/**
 * Removes `cap` from the calling thread's bounding set for good (PR_CAPBSET_DROP);
 * needs CAP_SETPCAP, so it must happen before the thread gives up root.
 */
export function capbsetDrop(cap: number): void {
  prctl('PR_CAPBSET_DROP', PR.CAPBSET_DROP, cap, 0, 'dropping the bounding set needs CAP_SETPCAP');
}

/** Keeps permitted capabilities across a change away from uid 0 (PR_SET_KEEPCAPS); cleared by execve. */
export function setKeepCaps(on: boolean): void {
  prctl('PR_SET_KEEPCAPS', PR.SET_KEEPCAPS, on ? 1 : 0);
}

/** Whether PR_SET_KEEPCAPS is set on the calling thread. */
export function getKeepCaps(): boolean {
  return prctl('PR_GET_KEEPCAPS', PR.GET_KEEPCAPS) === 1;
}

/** Sets no_new_privs on the calling thread: execve can never grant privileges again (irreversible, inherited). */
export function setNoNewPrivs(): void {
  prctl('PR_SET_NO_NEW_PRIVS', PR.SET_NO_NEW_PRIVS, 1);
}

/** Whether no_new_privs is set on the calling thread. */
export function getNoNewPrivs(): boolean {
  return prctl('PR_GET_NO_NEW_PRIVS', PR.GET_NO_NEW_PRIVS) === 1;
}

/** Adds `cap` to the ambient set; it must already be permitted and inheritable (PR_CAP_AMBIENT_RAISE). */
export function capAmbientRaise(cap: number): void {
  prctl(
    'PR_CAP_AMBIENT_RAISE',
    PR.CAP_AMBIENT,
    AMBIENT.RAISE,
    cap,
    'an ambient capability must also be in the permitted and inheritable sets',
  );
}

/** Removes `cap` from the ambient set (PR_CAP_AMBIENT_LOWER). */
export function capAmbientLower(cap: number): void {
  prctl('PR_CAP_AMBIENT_LOWER', PR.CAP_AMBIENT, AMBIENT.LOWER, cap);
}

/** Empties the ambient set (PR_CAP_AMBIENT_CLEAR_ALL). */
export function capAmbientClearAll(): void {
  prctl('PR_CAP_AMBIENT_CLEAR_ALL', PR.CAP_AMBIENT, AMBIENT.CLEAR_ALL);
}

/** Whether `cap` is in the ambient set (PR_CAP_AMBIENT_IS_SET). */
export function capAmbientIsSet(cap: number): boolean {
  return prctl('PR_CAP_AMBIENT_IS_SET', PR.CAP_AMBIENT, AMBIENT.IS_SET, cap) === 1;
}

/**
 * Asks the kernel to send `signal` to the calling thread's process when the thread
 * that created it exits (PR_SET_PDEATHSIG). Cleared by execve of a setuid program
 * and by a credential change, so set it after changing ids.
 */
export function setPdeathsig(signal: number): void {
  prctl('PR_SET_PDEATHSIG', PR.SET_PDEATHSIG, signal);
}

/** Makes this process adopt orphaned descendants instead of init (PR_SET_CHILD_SUBREAPER; process-wide). */
export function setChildSubreaper(on: boolean): void {
  prctl('PR_SET_CHILD_SUBREAPER', PR.SET_CHILD_SUBREAPER, on ? 1 : 0);
}

/** Sets the calling thread's name, truncated by the kernel to 15 bytes (PR_SET_NAME). */
export function setThreadName(name: string): void {
  check('prctl PR_SET_NAME', _prctlStr(PR.SET_NAME, name, 0, 0, 0));
}

/** The calling thread's name (PR_GET_NAME). */
export function getThreadName(): string {
  const buf = Buffer.alloc(16);
  check('prctl PR_GET_NAME', _prctlOut(PR.GET_NAME, buf, 0, 0, 0));
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? 16 : end);
}

/**
 * Sets the dumpable flag of the process (PR_SET_DUMPABLE). A non-dumpable process's
 * /proc/<pid> files are owned by root and it cannot be ptraced by its own uid, which
 * keeps a container from reaching the runtime through /proc/<pid>/exe (CVE-2019-5736).
 */
export function setDumpable(on: boolean): void {
  prctl('PR_SET_DUMPABLE', PR.SET_DUMPABLE, on ? 1 : 0);
}

/** Whether the process is dumpable (PR_GET_DUMPABLE). */
export function getDumpable(): boolean {
  return prctl('PR_GET_DUMPABLE', PR.GET_DUMPABLE) === 1;
}
