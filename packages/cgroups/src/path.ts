import { posix } from 'node:path';
import { CtrError } from '@ctr/sys';
import type { CgroupMount } from './detect.ts';

/**
 * Validates `linux.cgroupsPath` and splits it into absolute or relative form.
 * Absent, it defaults to the container id relative to the runtime's cgroup (runc's
 * behaviour). The systemd "slice:prefix:name" form needs a systemd driver that ctr
 * does not have yet. `..` components are refused: the path comes from the bundle
 * and must not climb out of the hierarchy the runtime manages.
 */
export function parseCgroupsPath(
  cgroupsPath: string | undefined,
  containerId: string,
): { absolute: boolean; path: string } {
  const raw = cgroupsPath === undefined || cgroupsPath === '' ? containerId : cgroupsPath;
  if (/^[^/]*:[^/]*:[^/]*$/.test(raw)) {
    throw new CtrError({
      stage: 'cgroups',
      op: `use cgroupsPath "${raw}"`,
      hint: 'this is the systemd "slice:prefix:name" form, and ctr has no systemd cgroup driver yet; use a path like /ctr/<id> instead',
    });
  }
  if (raw.includes('\0') || raw.split('/').some((part) => part === '..' || part === '.')) {
    throw new CtrError({
      stage: 'cgroups',
      op: `use cgroupsPath "${raw}"`,
      hint: 'the path must not contain "." or ".." components or NUL bytes',
    });
  }
  const absolute = raw.startsWith('/');
  const path = posix.normalize(raw).replace(/\/+$/, '');
  if (path === '' || path === '/') {
    throw new CtrError({
      stage: 'cgroups',
      op: `use cgroupsPath "${raw}"`,
      hint: 'a container needs its own cgroup; the root cgroup cannot be limited',
    });
  }
  return { absolute, path };
}

/** The cgroup (inside its hierarchy) a container lands in, given the runtime's own cgroup there. */
export function cgroupInHierarchy(
  parsed: { absolute: boolean; path: string },
  runtimeCgroup: string,
): string {
  return parsed.absolute ? parsed.path : posix.join(runtimeCgroup || '/', parsed.path);
}

/** The host directory of a cgroup in a mounted hierarchy (the mount may show a subtree in a cgroup namespace). */
export function hostDir(mount: CgroupMount, cgroup: string): string {
  const rel =
    mount.root !== '/' && cgroup.startsWith(`${mount.root}/`) ? cgroup.slice(mount.root.length) : cgroup;
  return posix.join(mount.mountpoint, rel);
}
