// linux.resources → cgroup v2 files (Documentation/admin-guide/cgroup-v2.rst). The
// spec speaks v1 units; conversions live in convert.ts and match runc's so the same
// bundle gets the same limits under either runtime.

import { blkioWeightToIoWeight, sharesToWeight, swapToV2 } from '../convert.ts';
import type { CgroupWrite } from '../plan.ts';
import type { LinuxResources } from '../types.ts';
import { rdmaLine, unifiedWrite } from '../v1/resources.ts';
import { checkCpuList, checkInteger, invalid } from '../validate.ts';

export function v2Writes(r: LinuxResources, dir: string, warnings: string[]): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const put = (file: string, value: string | number): void => {
    out.push({ controller: 'unified', dir, file, value: String(value) });
  };
  const ignore = (field: string, why: string): void => {
    warnings.push(`linux.resources.${field} is ignored on cgroup v2: ${why}`);
  };

  const cpu = r.cpu;
  if (cpu?.cpus !== undefined && cpu.cpus !== '') {
    checkCpuList('cpu.cpus', cpu.cpus);
    put('cpuset.cpus', cpu.cpus.trim());
  }
  if (cpu?.mems !== undefined && cpu.mems !== '') {
    checkCpuList('cpu.mems', cpu.mems);
    put('cpuset.mems', cpu.mems.trim());
  }

  const mem = r.memory;
  if (mem) {
    if (mem.limit !== undefined && mem.limit > 0) checkInteger('memory.limit', mem.limit, 1);
    let swap: number | undefined;
    try {
      swap = swapToV2(mem.swap, mem.limit);
    } catch (e) {
      throw invalid('memory.swap', mem.swap, (e as Error).message);
    }
    // Swap first, as runc does: memory.max then never briefly applies without
    // the swap limit the spec asked for.
    if (swap !== undefined) put('memory.swap.max', swap === -1 ? 'max' : swap);
    if (mem.limit !== undefined && mem.limit !== 0) put('memory.max', mem.limit === -1 ? 'max' : mem.limit);
    if (mem.reservation !== undefined && mem.reservation !== 0) {
      put('memory.low', mem.reservation === -1 ? 'max' : mem.reservation);
    }
    if (mem.swappiness !== undefined && mem.swappiness !== -1)
      ignore('memory.swappiness', 'no per-cgroup swappiness');
    if (mem.disableOOMKiller === true)
      ignore('memory.disableOOMKiller', 'the OOM killer cannot be disabled per cgroup');
    if (mem.kernel) ignore('memory.kernel', 'kernel memory is accounted in memory.max');
    if (mem.kernelTCP) ignore('memory.kernelTCP', 'socket memory is accounted in memory.max');
  }

  if (cpu) {
    if (cpu.idle !== undefined) {
      checkInteger('cpu.idle', cpu.idle, 0, 1);
      put('cpu.idle', cpu.idle);
    }
    if (cpu.shares !== undefined && cpu.shares !== 0) {
      checkInteger('cpu.shares', cpu.shares, 2, 262144);
      put('cpu.weight', sharesToWeight(cpu.shares));
    }
    const quota = cpu.quota ?? 0;
    const period = cpu.period ?? 0;
    if (quota !== 0 || period !== 0) {
      if (period !== 0) checkInteger('cpu.period', period, 1000, 1_000_000);
      let value = quota > 0 ? String(quota) : 'max';
      if (period !== 0) value += ` ${period}`;
      put('cpu.max', value);
    }
    if (cpu.burst !== undefined) {
      checkInteger('cpu.burst', cpu.burst, 0);
      put('cpu.max.burst', cpu.burst);
    }
    if (cpu.realtimePeriod || cpu.realtimeRuntime) {
      throw invalid(
        'cpu.realtimeRuntime',
        cpu.realtimeRuntime,
        'cgroup v2 has no realtime CPU budget (cpu.rt_* exist only on v1); remove realtimeRuntime/realtimePeriod',
      );
    }
  }

  if (r.pids?.limit !== undefined) put('pids.max', r.pids.limit > 0 ? r.pids.limit : 'max');

  const bio = r.blockIO;
  if (bio) {
    if (bio.weight !== undefined && bio.weight !== 0) {
      checkInteger('blockIO.weight', bio.weight, 10, 1000);
      // BFQ keeps v1's [10, 1000] range; without BFQ the io.weight scale applies.
      out.push({
        controller: 'unified',
        dir,
        file: 'io.bfq.weight',
        value: String(bio.weight),
        fallback: { file: 'io.weight', value: `default ${blkioWeightToIoWeight(bio.weight)}` },
      });
    }
    if (bio.leafWeight) ignore('blockIO.leafWeight', 'v2 has no leaf weights');
    for (const d of bio.weightDevice ?? []) {
      if (d.weight !== undefined) put('io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`);
      if (d.leafWeight !== undefined) ignore('blockIO.weightDevice[].leafWeight', 'v2 has no leaf weights');
    }
    const throttles = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ] as const;
    for (const [field, key] of throttles) {
      bio[field]?.forEach((d, i) => {
        checkInteger(`blockIO.${field}[${i}].rate`, d.rate, 0);
        put('io.max', `${d.major}:${d.minor} ${key}=${d.rate === 0 ? 'max' : d.rate}`);
      });
    }
  }

  r.hugepageLimits?.forEach((h, i) => {
    if (!/^\d+[KMG]B$/.test(h.pageSize))
      throw invalid(`hugepageLimits[${i}].pageSize`, h.pageSize, 'must look like "2MB"');
    put(`hugetlb.${h.pageSize}.max`, h.limit);
  });

  if (r.network?.classID !== undefined || r.network?.priorities?.length) {
    ignore('network', 'net_cls and net_prio exist only on v1 (use a BPF program on the socket instead)');
  }

  for (const [device, limits] of Object.entries(r.rdma ?? {})) put('rdma.max', rdmaLine(device, limits));

  // Last, so an explicit unified key overrides the converted value, as in runc.
  for (const [key, value] of Object.entries(r.unified ?? {})) out.push(unifiedWrite(dir, key, value));
  return out;
}
