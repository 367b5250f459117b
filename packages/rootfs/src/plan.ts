import { isAbsolute, join, posix } from 'node:path';
import type { LinuxDevice, LinuxNamespaceType } from '@ctr/spec';
import { CtrError, MOUNT_ATTR, MS } from '@ctr/sys';
import { type ParsedOptions, parseMountOptions } from './options.ts';
import { checkSysctl } from './sysctl.ts';
import type { HostCgroupMount, RootfsConfig, RootfsHost, RootfsPropagation } from './types.ts';

export type DeviceType = LinuxDevice['type'];

/** One step of building the container's root filesystem, in order. */
export type RootfsOp =
  | { op: 'propagation'; name: RootfsPropagation; type: number; recursive: boolean }
  | { op: 'bindRoot'; path: string }
  | {
      op: 'mount';
      destination: string;
      kind: 'bind';
      /** Absolute host path. */
      source: string;
      options: ParsedOptions;
    }
  | {
      op: 'mount';
      destination: string;
      kind: 'fs';
      fstype: string;
      source: string | undefined;
      options: ParsedOptions;
    }
  | { op: 'setattr'; destination: string; attrSet: number; attrClr: number }
  | {
      op: 'mknod';
      path: string;
      type: DeviceType;
      major: number;
      minor: number;
      mode: number;
      uid: number;
      gid: number;
    }
  | { op: 'bindDevice'; path: string }
  | { op: 'symlink'; path: string; target: string }
  /** Bind the container's terminal (the pty slave the runtime opened) onto /dev/console. */
  | { op: 'console' }
  | { op: 'pivotRoot' }
  | { op: 'moveRoot' }
  | { op: 'sysctl'; key: string; path: string; value: string }
  | { op: 'readonlyPath'; path: string }
  | { op: 'maskPath'; path: string }
  | { op: 'readonlyRoot' };

export interface RootfsPlan {
  /** The host directory that becomes the container's root. */
  root: string;
  ops: RootfsOp[];
}

const fail = (op: string, hint: string, path?: string) => new CtrError({ stage: 'rootfs', op, path, hint });

const PROPAGATION: Record<RootfsPropagation, [number, boolean]> = {
  private: [MS.PRIVATE, false],
  rprivate: [MS.PRIVATE, true],
  shared: [MS.SHARED, false],
  rshared: [MS.SHARED, true],
  slave: [MS.SLAVE, false],
  rslave: [MS.SLAVE, true],
  unbindable: [MS.UNBINDABLE, false],
  runbindable: [MS.UNBINDABLE, true],
};

/** The devices every container gets (runc's AllowedDevices with a node). */
export const DEFAULT_DEVICES: readonly (Required<Omit<LinuxDevice, 'type'>> & { type: 'c' })[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const DEV_SYMLINKS: readonly [string, string][] = [
  ['/dev/fd', '/proc/self/fd'],
  ['/dev/stdin', '/proc/self/fd/0'],
  ['/dev/stdout', '/proc/self/fd/1'],
  ['/dev/stderr', '/proc/self/fd/2'],
  // devpts newinstance: the container's ptmx is the one of its own devpts.
  ['/dev/ptmx', 'pts/ptmx'],
];

/**
 * A path inside the container, made absolute and lexically clean. ".." cannot climb
 * above "/" here, and apply resolves it again inside the root (RESOLVE_IN_ROOT).
 */
export function containerPath(p: string): string {
  return posix.normalize(`/${p}`).replace(/\/+$/, '') || '/';
}

/**
 * Decides every operation that builds the container's root filesystem, in runc's
 * order: propagation, bind the root, each mount, devices and /dev links, pivot_root
 * (or MS_MOVE + chroot), sysctls, read-only paths, masked paths, read-only root.
 * Pure: host facts come in `host`; configs that cannot be honoured throw CtrError.
 */
export function planRootfs(config: RootfsConfig, host: RootfsHost): RootfsPlan {
  if (!config.root?.path) throw fail('plan the root filesystem', 'root.path is required');
  const root = isAbsolute(config.root.path) ? config.root.path : join(host.bundleDir, config.root.path);
  const namespaces = config.linux?.namespaces ?? [];
  const has = (t: LinuxNamespaceType) => namespaces.some((n) => n.type === t);
  const isNew = (t: LinuxNamespaceType) => namespaces.some((n) => n.type === t && !n.path);
  if (!has('mount')) {
    throw fail(
      'plan the root filesystem',
      'the root filesystem needs a mount namespace; add {"type": "mount"}',
    );
  }
  const userns = has('user');

  const propagation = config.linux?.rootfsPropagation ?? 'rslave';
  const prop = PROPAGATION[propagation];
  if (!prop) throw fail('linux.rootfsPropagation', `unknown propagation "${propagation}"`);
  const ops: RootfsOp[] = [
    { op: 'propagation', name: propagation, type: prop[0], recursive: prop[1] },
    { op: 'bindRoot', path: root },
  ];

  for (const [i, m] of (config.mounts ?? []).entries()) {
    const where = `mounts[${i}]`;
    const destination = containerPath(m.destination);
    if (destination === '/') throw fail(where, 'a mount cannot cover the root; use root.path', m.destination);
    if (m.uidMappings?.length || m.gidMappings?.length) {
      throw fail(
        where,
        'id-mapped mounts (mounts[].uidMappings/gidMappings) are not supported by ctr yet',
        destination,
      );
    }
    const options = parseMountOptions(m.options ?? [], where);
    const type = m.type ?? (options.bind ? 'bind' : '');
    if (options.copyUp && (type !== 'tmpfs' || options.bind)) {
      throw fail(where, 'the tmpcopyup option applies to tmpfs mounts only', destination);
    }
    if (options.bind || type === 'bind') {
      if (!m.source) throw fail(where, 'a bind mount needs a source', destination);
      const source = isAbsolute(m.source) ? m.source : join(host.bundleDir, m.source);
      if (options.data.length > 0) {
        throw fail(
          where,
          `filesystem options have no effect on a bind mount: ${options.data.join(',')}`,
          destination,
        );
      }
      ops.push({ op: 'mount', destination, kind: 'bind', source, options: { ...options, bind: true } });
    } else if (type === '' || type === 'none') {
      throw fail(where, 'a mount needs a type (or the bind option)', destination);
    } else if (type === 'cgroup') {
      ops.push(
        ...cgroupMounts(destination, options, host.cgroups, isNew('cgroup') ? undefined : host.cgroupPaths),
      );
    } else if (type === 'sysfs' && userns && !isNew('network')) {
      // A fresh sysfs needs CAP_SYS_ADMIN over the network namespace, which a user
      // namespace that did not make it lacks: bind the host's, read-only (runc does too).
      options.attrSet |= MOUNT_ATTR.RDONLY;
      options.attrClr &= ~MOUNT_ATTR.RDONLY;
      ops.push({
        op: 'mount',
        destination,
        kind: 'bind',
        source: '/sys',
        options: { ...options, bind: true, recursive: true },
      });
    } else {
      if (type === 'sysfs' && !isNew('network')) {
        // The host's sysfs shows the host's network devices; never let them be written.
        options.attrSet |= MOUNT_ATTR.RDONLY;
        options.attrClr &= ~MOUNT_ATTR.RDONLY;
      }
      ops.push({ op: 'mount', destination, kind: 'fs', fstype: type, source: m.source, options });
    }
  }

  const listed = new Set((config.linux?.devices ?? []).map((d) => containerPath(d.path)));
  const devices = [...DEFAULT_DEVICES.filter((d) => !listed.has(d.path)), ...(config.linux?.devices ?? [])];
  for (const d of devices) {
    const path = containerPath(d.path);
    if (!['c', 'b', 'u', 'p'].includes(d.type))
      throw fail(`device ${path}`, `unknown device type "${d.type}"`);
    if (userns) {
      // mknod of a device is not allowed in a user namespace: bind the host's node.
      ops.push({ op: 'bindDevice', path });
      continue;
    }
    if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) {
      throw fail(`device ${path}`, 'a character or block device needs major and minor');
    }
    ops.push({
      op: 'mknod',
      path,
      type: d.type,
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      mode: (d.fileMode ?? 0o666) & 0o7777,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    });
  }
  for (const [path, target] of DEV_SYMLINKS) ops.push({ op: 'symlink', path, target });
  if (config.process?.terminal) ops.push({ op: 'console' });

  ops.push(host.noPivot ? { op: 'moveRoot' } : { op: 'pivotRoot' });

  const owned = new Set(namespaces.map((n) => n.type));
  for (const [key, value] of Object.entries(config.linux?.sysctl ?? {}).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    ops.push({ op: 'sysctl', key, path: checkSysctl(key, owned), value });
  }
  for (const p of config.linux?.readonlyPaths ?? []) ops.push({ op: 'readonlyPath', path: containerPath(p) });
  for (const p of config.linux?.maskedPaths ?? []) ops.push({ op: 'maskPath', path: containerPath(p) });
  if (config.root.readonly) ops.push({ op: 'readonlyRoot' });
  return { root, ops };
}

/**
 * A "cgroup" mount: on a cgroup v2 host one cgroup2 mount; on a v1 (or hybrid) host a
 * tmpfs with each hierarchy mounted below it, as the host has them, made read-only
 * at the end unless the options say "rw". In a new cgroup namespace each shows the
 * container's cgroup as its root.
 */
function cgroupMounts(
  destination: string,
  requested: ParsedOptions,
  cgroups: HostCgroupMount[] | undefined,
  ownPaths: Record<string, string> | undefined,
): RootfsOp[] {
  // Read-only unless the config asks for "rw": a writable cgroup tree lets the
  // container change its own limits (or, without a cgroup namespace, the host's).
  const options: ParsedOptions =
    requested.attrClr & MOUNT_ATTR.RDONLY
      ? requested
      : { ...requested, attrSet: requested.attrSet | MOUNT_ATTR.RDONLY };
  const hierarchies = cgroups ?? [{ name: '', type: 'cgroup2', options: [] }];
  const pure = hierarchies.find((h) => h.type === 'cgroup2' && h.name === '');
  if (pure) return [{ op: 'mount', destination, kind: 'fs', fstype: 'cgroup2', source: 'cgroup', options }];
  const hierarchyOptions: ParsedOptions = { ...options, data: [] };
  const ops: RootfsOp[] = [
    {
      op: 'mount',
      destination,
      kind: 'fs',
      fstype: 'tmpfs',
      source: 'tmpfs',
      options: {
        ...hierarchyOptions,
        attrSet: hierarchyOptions.attrSet & ~MOUNT_ATTR.RDONLY,
        attrClr: hierarchyOptions.attrClr | MOUNT_ATTR.RDONLY,
        data: ['mode=755'],
      },
    },
  ];
  for (const h of hierarchies) {
    const own =
      ownPaths && (h.type === 'cgroup2' ? ownPaths[''] : h.options.map((o) => ownPaths[o]).find(Boolean));
    ops.push(
      own
        ? {
            op: 'mount',
            destination: `${destination}/${h.name}`,
            kind: 'bind',
            source: posix.join('/sys/fs/cgroup', h.name, own),
            options: { ...hierarchyOptions, bind: true },
          }
        : {
            op: 'mount',
            destination: `${destination}/${h.name}`,
            kind: 'fs',
            fstype: h.type,
            source: 'cgroup',
            options: { ...hierarchyOptions, data: h.options },
          },
    );
    // "cpu" and "cpuacct" point at "cpu,cpuacct", as on the host.
    if (h.name.includes(',')) {
      for (const alias of h.name.split(','))
        ops.push({ op: 'symlink', path: `${destination}/${alias}`, target: h.name });
    }
  }
  if (options.attrSet & MOUNT_ATTR.RDONLY) {
    ops.push({ op: 'setattr', destination, attrSet: MOUNT_ATTR.RDONLY, attrClr: 0 });
  }
  return ops;
}
