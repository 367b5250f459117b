import { posix } from 'node:path';
import { CtrError } from '@ctr/sys';
import { type CgroupHost, type CgroupMode, detectCgroups, V1_CONTROLLERS } from './detect.ts';
import { compileDeviceRules } from './devices/program.ts';
import { cgroupInHierarchy, hostDir, parseCgroupsPath } from './path.ts';
import type { LinuxCgroupConfig, LinuxDeviceCgroup, LinuxResources } from './types.ts';
import { v1Writes } from './v1/resources.ts';
import { v2Writes } from './v2/resources.ts';

/** "unified" names the v2 directory; anything else is a v1 controller. */
export type CgroupController = string;

/** One directory the container's cgroup occupies. */
export interface CgroupDir {
  controller: CgroupController;
  path: string;
}

/** One value written to one cgroup file, in order. */
export interface CgroupWrite {
  controller: CgroupController;
  /** The cgroup directory. */
  dir: string;
  file: string;
  value: string;
  /** Used instead when `file` does not exist (e.g. io.bfq.weight → io.weight). */
  fallback?: { file: string; value: string };
}

/** Controllers switched on in a v2 directory's cgroup.subtree_control so its child can use them. */
export interface CgroupEnable {
  dir: string;
  controllers: string[];
}

/** Everything the cgroups stage will do for one container: plain data, printable by `ctr plan`. */
export interface CgroupPlan {
  /** v1 drives per-controller hierarchies (also on hybrid hosts); v2 one unified directory. */
  driver: 'v1' | 'v2';
  mode: CgroupMode;
  /** The cgroup inside each hierarchy, before mapping to mount points. */
  cgroup: Record<CgroupController, string>;
  /** Directories created, parents first; on hybrid hosts also the unified one. */
  dirs: CgroupDir[];
  /** v2: subtree_control writes, from the top of the hierarchy down to the parent. */
  enable: CgroupEnable[];
  /** Resource writes in the order they are made. */
  writes: CgroupWrite[];
  /** v2: device rules, enforced by a BPF_PROG_TYPE_CGROUP_DEVICE program compiled from them. */
  deviceRules: LinuxDeviceCgroup[] | undefined;
  /** v2: that program's disassembly, for audit. */
  deviceProgram: string[] | undefined;
  /** Settings the host's cgroup version cannot express, ignored with a reason. */
  warnings: string[];
  /** Controllers the unified hierarchy's root offers (for planning updates later). */
  unifiedControllers: string[];
  rootless: boolean;
}

export interface PlanCgroupOptions {
  containerId: string;
  /** The runtime's own cgroup a relative cgroupsPath is under; default: the caller's, per hierarchy. */
  runtimeCgroup?: string;
  /** Host facts; default: detectCgroups(). */
  host?: CgroupHost;
}

/**
 * Plans the container's cgroup from `config.linux`: where it lives in every mounted
 * hierarchy, which controllers to enable on the way down (v2) and every file write
 * that applies `linux.resources`. Pure given the host facts.
 */
export function planCgroup(linux: LinuxCgroupConfig | undefined, options: PlanCgroupOptions): CgroupPlan {
  const host = options.host ?? detectCgroups();
  const parsed = parseCgroupsPath(linux?.cgroupsPath, options.containerId);
  const cgroupFor = (selfKey: string): string => {
    let base = options.runtimeCgroup ?? host.self[selfKey] ?? '/';
    // On the unified tree the runtime's own cgroup holds the runtime itself, and a
    // cgroup with processes cannot enable controllers for children ("no internal
    // processes"): relative paths go under its parent, as runc does.
    if (selfKey === '' && options.runtimeCgroup === undefined) base = posix.dirname(base);
    return cgroupInHierarchy(parsed, base);
  };
  const warnings: string[] = [];
  const cgroup: Record<string, string> = {};
  const dirs: CgroupDir[] = [];

  if (host.mode === 'v2') {
    if (!host.v2) {
      throw new CtrError({
        stage: 'cgroups',
        op: 'find a cgroup hierarchy',
        hint: 'neither cgroup v1 nor cgroup2 is mounted (mount -t cgroup2 none /sys/fs/cgroup)',
      });
    }
    cgroup.unified = cgroupFor('');
    const dir = hostDir(host.v2, cgroup.unified);
    dirs.push({ controller: 'unified', path: dir });
    const resources = linux?.resources ?? {};
    const writes = v2Writes(resources, dir, warnings);
    const needed = host.v2.controllers;
    return {
      driver: 'v2',
      mode: host.mode,
      cgroup,
      dirs,
      enable: enableChain(host.v2.mountpoint, dir, needed),
      writes,
      deviceRules: resources.devices,
      deviceProgram: resources.devices ? compileDeviceRules(resources.devices).disassembly : undefined,
      warnings,
      unifiedControllers: host.v2.controllers,
      rootless: host.rootless,
    };
  }

  for (const ctl of V1_CONTROLLERS) {
    const mount = host.v1[ctl];
    if (!mount) continue;
    cgroup[ctl] = cgroupFor(ctl);
    dirs.push({ controller: ctl, path: hostDir(mount, cgroup[ctl]) });
  }
  let unifiedDir: string | undefined;
  if (host.v2) {
    // Hybrid: the unified tree still gives cgroup.kill and cgroup.events for the
    // container, and holds controllers not bound to v1 (hugetlb on this kind of host).
    cgroup.unified = cgroupFor('');
    unifiedDir = hostDir(host.v2, cgroup.unified);
    dirs.push({ controller: 'unified', path: unifiedDir });
  }
  const resources: LinuxResources = linux?.resources ?? {};
  const writes = v1Writes(resources, {
    dir: (ctl) => dirs.find((d) => d.controller === ctl)?.path,
    unifiedDir,
    unifiedControllers: host.v2?.controllers ?? [],
    warnings,
  });
  const unifiedUsed = [
    ...new Set(writes.filter((w) => w.controller === 'unified').map((w) => w.file.split('.')[0]!)),
  ];
  return {
    driver: 'v1',
    mode: host.mode,
    cgroup,
    dirs,
    enable:
      host.v2 && unifiedDir && unifiedUsed.length > 0
        ? enableChain(
            host.v2.mountpoint,
            unifiedDir,
            unifiedUsed.filter((c) => c !== 'cgroup'),
          )
        : [],
    writes,
    deviceRules: undefined,
    deviceProgram: undefined,
    warnings,
    unifiedControllers: host.v2?.controllers ?? [],
    rootless: host.rootless,
  };
}

/** subtree_control writes from the mount point down to the parent of `dir`. */
function enableChain(mountpoint: string, dir: string, controllers: string[]): CgroupEnable[] {
  if (controllers.length === 0) return [];
  const rel = dir.slice(mountpoint.length).split('/').filter(Boolean);
  const chain: CgroupEnable[] = [];
  let cur = mountpoint;
  for (const part of rel.slice(0, -1)) {
    chain.push({ dir: cur, controllers });
    cur = `${cur}/${part}`;
  }
  chain.push({ dir: cur, controllers });
  return chain;
}

/** The resource writes for `resources` into the directories of an existing plan (updates). */
export function planWrites(
  plan: CgroupPlan,
  resources: LinuxResources,
  warnings: string[] = [],
): CgroupWrite[] {
  const unifiedDir = plan.dirs.find((d) => d.controller === 'unified')?.path;
  if (plan.driver === 'v2') return v2Writes(resources, unifiedDir!, warnings);
  return v1Writes(resources, {
    dir: (ctl) => plan.dirs.find((d) => d.controller === ctl)?.path,
    unifiedDir,
    unifiedControllers: plan.unifiedControllers,
    warnings,
  });
}
