// Host facts: which cgroup hierarchies are mounted where, and where the calling
// process sits in each. Read from /proc/self/mountinfo rather than assuming
// /sys/fs/cgroup, because distributions and container hosts mount it differently
// (v1 only, unified only, or hybrid with the unified tree at /sys/fs/cgroup/unified).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

/** The v1 controllers ctr knows how to manage (named hierarchies like name=systemd are left alone). */
export const V1_CONTROLLERS = [
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'blkio',
  'pids',
  'hugetlb',
  'net_cls',
  'net_prio',
  'rdma',
  'perf_event',
  'misc',
] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export interface CgroupMount {
  /** Where the hierarchy is mounted on the host. */
  mountpoint: string;
  /** The cgroup the mount shows as its top (not "/" inside a cgroup namespace). */
  root: string;
}

export interface CgroupHost {
  mode: CgroupMode;
  /** v1 controller → its mount (co-mounted controllers share one, e.g. cpu,cpuacct). */
  v1: Partial<Record<V1Controller, CgroupMount>>;
  /** The unified hierarchy, with the controllers its root offers. */
  v2: (CgroupMount & { controllers: string[] }) | undefined;
  /** The calling process's cgroup per v1 controller, and under "" on the unified hierarchy. */
  self: Record<string, string>;
  /** Whether the caller is root; when not, only delegated subtrees are writable. */
  rootless: boolean;
}

/** Undoes the octal escapes (\040 for space) mountinfo uses in paths. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo text into the cgroup mounts it lists (first mount of each wins). */
export function parseCgroupMounts(mountinfo: string): Pick<CgroupHost, 'v1' | 'v2'> & {
  v2Mount: CgroupMount | undefined;
} {
  const v1: CgroupHost['v1'] = {};
  let v2Mount: CgroupMount | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    const root = unescapeMountinfo(left[3] ?? '/');
    const mountpoint = unescapeMountinfo(left[4] ?? '');
    if (fstype === 'cgroup2') {
      v2Mount ??= { mountpoint, root };
    } else if (fstype === 'cgroup') {
      for (const opt of superOpts.split(',')) {
        const ctl = V1_CONTROLLERS.find((c) => c === opt);
        if (ctl && !v1[ctl]) v1[ctl] = { mountpoint, root };
      }
    }
  }
  return { v1, v2: undefined, v2Mount };
}

/** Parses /proc/<pid>/cgroup: "hierarchy-id:controllers:path" lines; v2 is the "" key. */
export function parseProcCgroup(text: string): Record<string, string> {
  const self: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') self[''] = path;
    else for (const c of controllers.split(',')) self[c] = path;
  }
  return self;
}

/** Builds host facts from the texts of mountinfo, /proc/self/cgroup and the v2 root's cgroup.controllers. */
export function cgroupHostFrom(
  mountinfo: string,
  procCgroup: string,
  v2Controllers: string | undefined,
  rootless = false,
): CgroupHost {
  const { v1, v2Mount } = parseCgroupMounts(mountinfo);
  const hasV1 = Object.keys(v1).length > 0;
  const v2 = v2Mount
    ? { ...v2Mount, controllers: (v2Controllers ?? '').split(/\s+/).filter((c) => c !== '') }
    : undefined;
  const mode: CgroupMode = hasV1 ? (v2 ? 'hybrid' : 'v1') : 'v2';
  return { mode, v1, v2, self: parseProcCgroup(procCgroup), rootless };
}

/**
 * The host directory of the caller's own cgroup in one hierarchy ("" for the unified
 * one), or undefined when the mount does not show it (a mount made in another cgroup
 * namespace shows a subtree the caller's path is not relative to).
 */
export function ownCgroupDir(host: CgroupHost, controller: string): string | undefined {
  const mount = controller === '' ? host.v2 : host.v1[controller as V1Controller];
  const own = host.self[controller];
  if (mount === undefined || own === undefined) return undefined;
  if (mount.root === '/') return resolve(mount.mountpoint, `.${own}`);
  if (own !== mount.root && !own.startsWith(`${mount.root}/`)) return undefined;
  return resolve(mount.mountpoint, `.${own.slice(mount.root.length)}`);
}

let cached: CgroupHost | undefined;

/**
 * Reads the host's cgroup layout (cached for the life of the process: mounts of
 * cgroup hierarchies do not change under a running runtime).
 */
export function detectCgroups(options: { fresh?: boolean } = {}): CgroupHost {
  if (cached && !options.fresh) return cached;
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const { v2Mount } = parseCgroupMounts(mountinfo);
  let controllers: string | undefined;
  if (v2Mount) {
    try {
      controllers = readFileSync(join(v2Mount.mountpoint, 'cgroup.controllers'), 'utf8');
    } catch {
      controllers = undefined;
    }
  }
  cached = cgroupHostFrom(
    mountinfo,
    readFileSync('/proc/self/cgroup', 'utf8'),
    controllers,
    process.geteuid?.() !== 0,
  );
  return cached;
}

/**
 * The host's cgroup mounts (detectCgroups, cached) with where a task is now, read
 * afresh from `procCgroup` (/proc/self/cgroup, or /proc/thread-self/cgroup for the
 * calling thread): the cached `self` is where the process was when first asked.
 */
export function currentCgroups(procCgroup = '/proc/self/cgroup'): CgroupHost {
  return { ...detectCgroups(), self: parseProcCgroup(readFileSync(procCgroup, 'utf8')) };
}
