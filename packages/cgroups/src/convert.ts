// Conversions from the OCI spec's cgroup v1 units to cgroup v2 files. They follow
// runc's libcontainer (opencontainers/cgroups) so a spec yields the same values under
// ctr, runc and crun: a container moved between runtimes keeps its share of the CPU.

/**
 * cpu.shares [2, 262144] → cpu.weight [1, 10000]. The quadratic in log2 space maps
 * the v1 default 1024 onto the v2 default 100 (runc PR 4785, crun issue 1721; the
 * older linear formula mapped 1024 to 39 and made containers lose to host services).
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** blkio.weight [10, 1000] → io.weight [1, 10000], linear as in runc. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI `memory.swap` is memory+swap (the v1 memsw limit); v2's memory.swap.max is
 * swap alone. Returns the v2 value, -1 for "max", or undefined when nothing is set.
 */
export function swapToV2(swap: number | undefined, limit: number | undefined): number | undefined {
  const s = swap ?? 0;
  const l = limit ?? 0;
  if (l === -1 && s === 0) return -1;
  if (s === -1) return -1;
  if (s === 0) return undefined;
  if (l === 0 || l === -1) throw new Error('a swap limit needs a memory limit (memory.swap is memory+swap)');
  if (s < l) throw new Error(`memory.swap (${s}) must be >= memory.limit (${l}): it counts memory+swap`);
  return s - l;
}
