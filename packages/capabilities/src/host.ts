import { existsSync, readFileSync } from 'node:fs';
import type { RlimitType } from '@ctr/spec';
import { capget, capLastCap, prlimit, RLIMIT, type RlimitValue } from '@ctr/sys';

/** Facts about the runtime's own process that decide what a plan can do. */
export interface PrivilegesHost {
  /** /proc/sys/kernel/cap_last_cap. */
  lastCap: number;
  /** The runtime's bounding set: nothing outside it can be granted. */
  bounding: bigint;
  /** The runtime's permitted set: capset can only keep or drop these. */
  permitted: bigint;
  /** Whether setgroups(2) is allowed (false in a user namespace with /proc/self/setgroups = deny). */
  setgroups: boolean;
  apparmor: boolean;
  selinux: boolean;
  /** The runtime's current limits, to refuse early what cannot be raised. */
  rlimits?: Partial<Record<RlimitType, RlimitValue>>;
}

function statusMask(status: string, field: string): bigint {
  const m = new RegExp(`^${field}:\\s+([0-9a-f]+)$`, 'm').exec(status);
  return m?.[1] ? BigInt(`0x${m[1]}`) : 0n;
}

/** Reads the PrivilegesHost facts of the calling thread and process. */
export function probePrivilegesHost(): PrivilegesHost {
  const status = readFileSync('/proc/thread-self/status', 'utf8');
  const setgroupsFile = '/proc/self/setgroups';
  const rlimits: Partial<Record<RlimitType, RlimitValue>> = {};
  for (const [name, resource] of Object.entries(RLIMIT)) {
    rlimits[`RLIMIT_${name}` as RlimitType] = prlimit(0, resource);
  }
  return {
    lastCap: capLastCap(),
    bounding: statusMask(status, 'CapBnd'),
    permitted: capget().permitted,
    setgroups: !existsSync(setgroupsFile) || readFileSync(setgroupsFile, 'utf8').trim() !== 'deny',
    apparmor: readOr('/sys/module/apparmor/parameters/enabled', 'N').startsWith('Y'),
    selinux: existsSync('/sys/fs/selinux/enforce'),
    rlimits,
  };
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}
