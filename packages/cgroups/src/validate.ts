import { CtrError } from '@ctr/sys';
import type { LinuxDeviceCgroup } from './types.ts';

/** A spec value the kernel would reject or misread, named by its JSON path. */
export function invalid(field: string, value: unknown, hint: string): CtrError {
  return new CtrError({
    stage: 'cgroups',
    op: `check linux.resources.${field} = ${JSON.stringify(value)}`,
    hint,
  });
}

export function checkInteger(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, value, `must be an integer in [${min}, ${max}]`);
  }
}

/** cpuset lists: "0-3,5". The kernel's parser accepts nothing else, and a newline would split the write. */
export function checkCpuList(field: string, value: string): void {
  if (!/^\s*(\d+(-\d+)?)(\s*,\s*\d+(-\d+)?)*\s*$/.test(value)) {
    throw invalid(field, value, 'must be a list like "0-3,5"');
  }
}

/** The v1 devices-controller line for a rule ("c 1:3 rwm"); also the normal form v2 compiles. */
export function deviceRuleLine(rule: LinuxDeviceCgroup, index: number): string {
  const type = rule.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') {
    throw invalid(`devices[${index}].type`, type, 'must be "a", "b" or "c"');
  }
  const access = rule.access ?? 'rwm';
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
    throw invalid(`devices[${index}].access`, access, 'must be a combination of r, w and m');
  }
  const num = (n: number | null | undefined, what: string): string => {
    if (n === undefined || n === null || n === -1) return '*';
    checkInteger(`devices[${index}].${what}`, n, 0, 0xffffffff);
    return String(n);
  };
  if (type === 'a') return 'a *:* rwm';
  return `${type} ${num(rule.major, 'major')}:${num(rule.minor, 'minor')} ${access}`;
}
