import { CAPABILITY_NAMES, type CapabilityName } from '@ctr/sys';

const numbers = new Map<string, number>(CAPABILITY_NAMES.map((n, i) => [n, i]));

/**
 * The number of a capability name (`CAP_CHOWN` → 0; `CAP_41` for one newer than ctr's
 * table), or undefined for a name ctr does not know.
 */
export function capabilityNumber(name: string): number | undefined {
  const known = numbers.get(name);
  if (known !== undefined) return known;
  const n = /^CAP_(\d{1,2})$/.exec(name)?.[1];
  return n === undefined ? undefined : Number(n);
}

/** The name of a capability number, or `CAP_<n>` for one newer than ctr's table. */
export function capabilityName(cap: number): string {
  return CAPABILITY_NAMES[cap] ?? `CAP_${cap}`;
}

/** Every capability the running kernel knows (0..cap_last_cap) that ctr can name. */
export function knownCapabilities(lastCap: number): CapabilityName[] {
  return CAPABILITY_NAMES.slice(0, lastCap + 1);
}

/** A set of capability names as the 64-bit mask the kernel uses. */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const cap = numbers.get(n);
    if (cap !== undefined) mask |= 1n << BigInt(cap);
  }
  return mask;
}

/** The names of the bits set in a mask, lowest first. */
export function capabilityNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let cap = 0; mask >> BigInt(cap) !== 0n; cap++) {
    if ((mask >> BigInt(cap)) & 1n) out.push(capabilityName(cap));
  }
  return out;
}
