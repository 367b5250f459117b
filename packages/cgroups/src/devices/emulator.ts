// The cgroup v1 devices controller's semantics, replayed in TypeScript. cgroup v2
// has no devices.allow/deny files, so the spec's rule list is first reduced to
// what v1 would hold after the same writes (a default plus exceptions), and that
// state is compiled into a BPF program (program.ts). Rules mean the same thing on
// both versions (runc does the same with its devices emulator).
import type { LinuxDeviceCgroup } from '../types.ts';
import { deviceRuleLine } from '../validate.ts';

/** BPF_DEVCG_ACC_* bits (linux/bpf.h). */
export const ACCESS = { m: 1, r: 2, w: 4 } as const;
/** BPF_DEVCG_DEV_* values. */
export const DEV_TYPE = { b: 1, c: 2 } as const;

export interface DeviceException {
  type: 'b' | 'c';
  /** undefined = any */
  major: number | undefined;
  minor: number | undefined;
  /** ACCESS bits */
  access: number;
}

export interface DeviceState {
  /** Whether a device no exception matches is allowed (v1 "allow all" behaviour). */
  defaultAllow: boolean;
  /** With defaultAllow false these allow; with it true they deny. */
  exceptions: DeviceException[];
}

function accessBits(access: string): number {
  let bits = 0;
  for (const ch of access) bits |= ACCESS[ch as keyof typeof ACCESS];
  return bits;
}

const num = (n: number | null | undefined): number | undefined =>
  n === null || n === undefined || n === -1 ? undefined : n;

/**
 * Replays the rules on a cgroup that starts denying everything, as the v1 driver
 * does (devices.deny "a" first): a rule of type "a" resets the default and drops
 * the exceptions; a rule against the default adds an exception (merging access
 * with an identical one); a rule agreeing with the default takes access away from
 * the identical exception, as the kernel's dev_exception_rm does.
 */
export function emulateDeviceRules(rules: LinuxDeviceCgroup[]): DeviceState {
  let state: DeviceState = { defaultAllow: false, exceptions: [] };
  rules.forEach((rule, i) => {
    deviceRuleLine(rule, i); // validates type and access
    const type = rule.type ?? 'a';
    if (type === 'a') {
      state = { defaultAllow: rule.allow, exceptions: [] };
      return;
    }
    const ex: DeviceException = {
      type: type as 'b' | 'c',
      major: num(rule.major),
      minor: num(rule.minor),
      access: accessBits(rule.access ?? 'rwm'),
    };
    const same = state.exceptions.find(
      (e) => e.type === ex.type && e.major === ex.major && e.minor === ex.minor,
    );
    if (rule.allow !== state.defaultAllow) {
      if (same) same.access |= ex.access;
      else state.exceptions.push(ex);
    } else if (same) {
      same.access &= ~ex.access;
      if (same.access === 0) state.exceptions = state.exceptions.filter((e) => e !== same);
    }
  });
  return state;
}

/** The kernel's decision for one access under a state (devcgroup's match_exception / match_exception_partial). */
export function deviceAllowed(
  state: DeviceState,
  type: 'b' | 'c',
  major: number,
  minor: number,
  access: number,
): boolean {
  const matches = (e: DeviceException): boolean =>
    e.type === type &&
    (e.major === undefined || e.major === major) &&
    (e.minor === undefined || e.minor === minor);
  if (state.defaultAllow) return !state.exceptions.some((e) => matches(e) && (e.access & access) !== 0);
  return state.exceptions.some((e) => matches(e) && (access & ~e.access) === 0);
}
