import { readdirSync } from 'node:fs';
import { parseKeyValues, parseNumber, readOptional } from './files.ts';

// The stats shape follows runc's `events --stats` JSON (libcontainer/cgroups
// types.Stats) so tools that read runc's output read ctr's. Limits that are
// "unlimited" in the kernel are left out rather than printed as 2^63.

export interface MemoryEntry {
  usage: number;
  max?: number | undefined;
  limit?: number | undefined;
  failcnt?: number | undefined;
}

export interface CgroupStats {
  cpu: {
    usage: {
      /** ns */
      total: number;
      kernel: number;
      user: number;
      percpu?: number[] | undefined;
    };
    throttling: { periods: number; throttledPeriods: number; throttledTime: number };
  };
  memory: {
    /** page cache (v1 cache, v2 file) */
    cache: number;
    /** anonymous memory (v1 rss, v2 anon) */
    rss: number;
    usage: MemoryEntry;
    swap: MemoryEntry;
    /** Processes the kernel OOM-killed in this cgroup. */
    oomKills: number;
    raw: Record<string, number>;
  };
  pids: { current: number; limit?: number | undefined };
  blkio: {
    ioServiceBytesRecursive: BlkioEntry[];
    ioServicedRecursive: BlkioEntry[];
  };
  hugetlb: Record<string, { usage: number; max?: number | undefined; failcnt: number }>;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** v1 blkio "8:0 Read 4096" lines. */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

/** v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." → the v1 shape runc reports. */
export function parseIoStatV2(
  text: string | undefined,
): Pick<CgroupStats['blkio'], 'ioServiceBytesRecursive' | 'ioServicedRecursive'> {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    for (const kv of kvs) {
      const [k, v] = kv.split('=');
      const value = Number(v);
      if (k === 'rbytes') bytes.push({ major, minor, op: 'Read', value });
      else if (k === 'wbytes') bytes.push({ major, minor, op: 'Write', value });
      else if (k === 'rios') ios.push({ major, minor, op: 'Read', value });
      else if (k === 'wios') ios.push({ major, minor, op: 'Write', value });
    }
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}

export function emptyStats(): CgroupStats {
  return {
    cpu: {
      usage: { total: 0, kernel: 0, user: 0 },
      throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    memory: {
      cache: 0,
      rss: 0,
      usage: { usage: 0 },
      swap: { usage: 0 },
      oomKills: 0,
      raw: {},
    },
    pids: { current: 0 },
    blkio: { ioServiceBytesRecursive: [], ioServicedRecursive: [] },
    hugetlb: {},
  };
}

/** Huge page sizes the kernel offers, named as the hugetlb files name them ("2MB", "1GB"). */
export function hugePageSizes(): string[] {
  let entries: string[];
  try {
    entries = readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const e of entries) {
    const kb = Number(/^hugepages-(\d+)kB$/.exec(e)?.[1]);
    if (!kb) continue;
    if (kb % (1 << 20) === 0) names.push(`${kb >> 20}GB`);
    else if (kb % (1 << 10) === 0) names.push(`${kb >> 10}MB`);
    else names.push(`${kb}KB`);
  }
  return names;
}

/** hugetlb.<size>.* usage on either version; undefined when the controller is absent in `dir`. */
export function hugetlbStats(
  dir: string | undefined,
  version: 'v1' | 'v2',
): CgroupStats['hugetlb'] | undefined {
  if (!dir) return undefined;
  const out: CgroupStats['hugetlb'] = {};
  for (const size of hugePageSizes()) {
    if (version === 'v1') {
      const usage = readOptional(dir, `hugetlb.${size}.usage_in_bytes`);
      if (usage === undefined) return undefined;
      out[size] = {
        usage: parseNumber(usage),
        max: parseNumber(readOptional(dir, `hugetlb.${size}.max_usage_in_bytes`)),
        failcnt: parseNumber(readOptional(dir, `hugetlb.${size}.failcnt`)),
      };
    } else {
      const usage = readOptional(dir, `hugetlb.${size}.current`);
      if (usage === undefined) return undefined;
      out[size] = {
        usage: parseNumber(usage),
        failcnt: parseKeyValues(readOptional(dir, `hugetlb.${size}.events`)).max ?? 0,
      };
    }
  }
  return out;
}
