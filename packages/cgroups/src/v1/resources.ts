// linux.resources → cgroup v1 files. File names and orders follow the kernel's
// cgroup-v1 documentation; where runc orders writes to dodge a kernel check, the
// reason is given next to it.
import { CtrError } from '@ctr/sys';
import type { CgroupWrite } from '../plan.ts';
import type { LinuxResources } from '../types.ts';
import { checkCpuList, checkInteger, deviceRuleLine, invalid } from '../validate.ts';

export interface V1Context {
  /** The directory of a mounted v1 controller, or undefined. */
  dir(controller: string): string | undefined;
  /** Hybrid hosts: the unified directory and what its root offers. */
  unifiedDir: string | undefined;
  unifiedControllers: string[];
  warnings: string[];
}

export function v1Writes(r: LinuxResources, ctx: V1Context): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const need = (controller: string, field: string): string => {
    const dir = ctx.dir(controller);
    if (!dir) {
      throw new CtrError({
        stage: 'cgroups',
        op: `apply linux.resources.${field}`,
        hint: `the ${controller} cgroup controller is not mounted on this host`,
      });
    }
    return dir;
  };
  const put = (controller: string, field: string, file: string, value: string | number): void => {
    out.push({ controller, dir: need(controller, field), file, value: String(value) });
  };

  const cpu = r.cpu;
  if (cpu?.cpus !== undefined && cpu.cpus !== '') {
    checkCpuList('cpu.cpus', cpu.cpus);
    put('cpuset', 'cpu.cpus', 'cpuset.cpus', cpu.cpus.trim());
  }
  if (cpu?.mems !== undefined && cpu.mems !== '') {
    checkCpuList('cpu.mems', cpu.mems);
    put('cpuset', 'cpu.mems', 'cpuset.mems', cpu.mems.trim());
  }

  if (r.devices) {
    // Start from deny-all so the result is exactly the spec's list whatever the
    // cgroup held before (an update, or a parent's allow-all inherited at mkdir).
    put('devices', 'devices', 'devices.deny', 'a');
    r.devices.forEach((rule, i) => {
      const line = deviceRuleLine(rule, i);
      put('devices', `devices[${i}]`, rule.allow ? 'devices.allow' : 'devices.deny', line);
    });
  }

  const mem = r.memory;
  if (mem) {
    const limit = mem.limit;
    if (limit !== undefined && limit !== 0) {
      if (limit !== -1) checkInteger('memory.limit', limit, 1);
      put('memory', 'memory.limit', 'memory.limit_in_bytes', limit);
    }
    if (mem.swap !== undefined && mem.swap !== 0) {
      if (mem.swap !== -1) {
        checkInteger('memory.swap', mem.swap, 1);
        if (limit !== undefined && limit > 0 && mem.swap < limit) {
          throw invalid('memory.swap', mem.swap, `memory+swap must be >= memory.limit (${limit})`);
        }
      }
      // memsw must stay >= limit at every step; the driver reorders this pair against
      // the live values when raising (see orderMemorySwap).
      put('memory', 'memory.swap', 'memory.memsw.limit_in_bytes', mem.swap);
    }
    if (mem.reservation !== undefined && mem.reservation !== 0) {
      if (mem.reservation !== -1) checkInteger('memory.reservation', mem.reservation, 1);
      put('memory', 'memory.reservation', 'memory.soft_limit_in_bytes', mem.reservation);
    }
    if (mem.kernel !== undefined && mem.kernel !== 0) {
      ctx.warnings.push(
        'memory.kernel is ignored: kernel memory limits are deprecated in the OCI spec and removed from Linux 6.x',
      );
    }
    if (mem.kernelTCP !== undefined && mem.kernelTCP !== 0) {
      put('memory', 'memory.kernelTCP', 'memory.kmem.tcp.limit_in_bytes', mem.kernelTCP);
    }
    if (mem.swappiness !== undefined && mem.swappiness !== -1) {
      checkInteger('memory.swappiness', mem.swappiness, 0, 100);
      put('memory', 'memory.swappiness', 'memory.swappiness', mem.swappiness);
    }
    if (mem.disableOOMKiller === true) put('memory', 'memory.disableOOMKiller', 'memory.oom_control', 1);
    if (mem.useHierarchy === true) put('memory', 'memory.useHierarchy', 'memory.use_hierarchy', 1);
    if (mem.useHierarchy === false) {
      ctx.warnings.push('memory.useHierarchy=false is ignored: Linux ≥ 5.16 always accounts hierarchically');
    }
  }

  if (cpu) {
    if (cpu.shares !== undefined && cpu.shares !== 0) {
      checkInteger('cpu.shares', cpu.shares, 2, 262144);
      put('cpu', 'cpu.shares', 'cpu.shares', cpu.shares);
    }
    // The period goes first: the kernel checks quota against the current period.
    if (cpu.period !== undefined && cpu.period !== 0) {
      checkInteger('cpu.period', cpu.period, 1000, 1_000_000);
      put('cpu', 'cpu.period', 'cpu.cfs_period_us', cpu.period);
    }
    if (cpu.quota !== undefined && cpu.quota !== 0) {
      if (cpu.quota !== -1) checkInteger('cpu.quota', cpu.quota, 1000);
      put('cpu', 'cpu.quota', 'cpu.cfs_quota_us', cpu.quota);
    }
    if (cpu.burst !== undefined) {
      checkInteger('cpu.burst', cpu.burst, 0);
      put('cpu', 'cpu.burst', 'cpu.cfs_burst_us', cpu.burst);
    }
    if (cpu.realtimePeriod !== undefined && cpu.realtimePeriod !== 0) {
      put('cpu', 'cpu.realtimePeriod', 'cpu.rt_period_us', cpu.realtimePeriod);
    }
    if (cpu.realtimeRuntime !== undefined && cpu.realtimeRuntime !== 0) {
      put('cpu', 'cpu.realtimeRuntime', 'cpu.rt_runtime_us', cpu.realtimeRuntime);
    }
    if (cpu.idle !== undefined) {
      checkInteger('cpu.idle', cpu.idle, 0, 1);
      put('cpu', 'cpu.idle', 'cpu.idle', cpu.idle);
    }
  }

  if (r.pids?.limit !== undefined) {
    put('pids', 'pids.limit', 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max');
  }

  const bio = r.blockIO;
  if (bio) {
    if (bio.weight !== undefined && bio.weight !== 0) {
      checkInteger('blockIO.weight', bio.weight, 10, 1000);
      const dir = need('blkio', 'blockIO.weight');
      // CFQ's blkio.weight is gone since Linux 5.0; BFQ offers the same range.
      out.push({
        controller: 'blkio',
        dir,
        file: 'blkio.weight',
        value: String(bio.weight),
        fallback: { file: 'blkio.bfq.weight', value: String(bio.weight) },
      });
    }
    if (bio.leafWeight !== undefined && bio.leafWeight !== 0) {
      checkInteger('blockIO.leafWeight', bio.leafWeight, 10, 1000);
      put('blkio', 'blockIO.leafWeight', 'blkio.leaf_weight', bio.leafWeight);
    }
    bio.weightDevice?.forEach((d, i) => {
      if (d.weight !== undefined) {
        const value = `${d.major}:${d.minor} ${d.weight}`;
        out.push({
          controller: 'blkio',
          dir: need('blkio', `blockIO.weightDevice[${i}]`),
          file: 'blkio.weight_device',
          value,
          fallback: { file: 'blkio.bfq.weight_device', value },
        });
      }
      if (d.leafWeight !== undefined) {
        put(
          'blkio',
          `blockIO.weightDevice[${i}]`,
          'blkio.leaf_weight_device',
          `${d.major}:${d.minor} ${d.leafWeight}`,
        );
      }
    });
    const throttles = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ] as const;
    for (const [field, file] of throttles) {
      bio[field]?.forEach((d, i) => {
        checkInteger(`blockIO.${field}[${i}].rate`, d.rate, 0);
        put('blkio', `blockIO.${field}[${i}]`, file, `${d.major}:${d.minor} ${d.rate}`);
      });
    }
  }

  r.hugepageLimits?.forEach((h, i) => {
    if (!/^\d+[KMG]B$/.test(h.pageSize))
      throw invalid(`hugepageLimits[${i}].pageSize`, h.pageSize, 'must look like "2MB"');
    if (ctx.dir('hugetlb')) {
      put('hugetlb', `hugepageLimits[${i}]`, `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit);
    } else if (ctx.unifiedDir && ctx.unifiedControllers.includes('hugetlb')) {
      out.push({
        controller: 'unified',
        dir: ctx.unifiedDir,
        file: `hugetlb.${h.pageSize}.max`,
        value: String(h.limit),
      });
    } else {
      need('hugetlb', `hugepageLimits[${i}]`);
    }
  });

  if (r.network?.classID !== undefined)
    put('net_cls', 'network.classID', 'net_cls.classid', r.network.classID);
  r.network?.priorities?.forEach((p, i) => {
    if (!/^[^\s/]{1,15}$/.test(p.name))
      throw invalid(`network.priorities[${i}].name`, p.name, 'not an interface name');
    put('net_prio', `network.priorities[${i}]`, 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
  });

  for (const [device, limits] of Object.entries(r.rdma ?? {})) {
    put('rdma', `rdma.${device}`, 'rdma.max', rdmaLine(device, limits));
  }

  const unified = Object.entries(r.unified ?? {});
  if (unified.length > 0) {
    if (!ctx.unifiedDir) {
      throw invalid('unified', r.unified, 'unified keys need cgroup v2, and this host has only cgroup v1');
    }
    for (const [key, value] of unified) out.push(unifiedWrite(ctx.unifiedDir, key, value));
  }
  return out;
}

export function rdmaLine(device: string, limits: { hcaHandles?: number; hcaObjects?: number }): string {
  if (!/^[^\s/]+$/.test(device)) throw invalid(`rdma`, device, 'not an RDMA device name');
  const h = limits.hcaHandles ?? 'max';
  const o = limits.hcaObjects ?? 'max';
  return `${device} hca_handle=${h} hca_object=${o}`;
}

/** Files under a cgroup the runtime itself manages; a spec writing them would break kill, freeze and placement. */
const RESERVED = new Set([
  'cgroup.procs',
  'cgroup.threads',
  'cgroup.subtree_control',
  'cgroup.kill',
  'cgroup.freeze',
  'cgroup.type',
]);

export function unifiedWrite(dir: string, key: string, value: string): CgroupWrite {
  if (!/^[a-z_]+\.[a-zA-Z0-9_.]+$/.test(key) || RESERVED.has(key)) {
    throw invalid(
      `unified["${key}"]`,
      value,
      'must name a controller file like "memory.high" (not a path, not a cgroup.* file the runtime manages)',
    );
  }
  if (value.includes('\n')) throw invalid(`unified["${key}"]`, value, 'one value, no newlines');
  return { controller: 'unified', dir, file: key, value };
}
