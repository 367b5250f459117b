import { type Mount, OCI_RUNTIME_VERSION, type RuntimeConfig } from './runtime-types.ts';

export interface DefaultRuntimeConfigOptions {
  /** runc spec --rootless: a user namespace mapping the caller, no network namespace. */
  rootless?: boolean;
  /** Host uid/gid mapped to root in rootless mode; default: the caller's effective ids. */
  uid?: number;
  gid?: number;
}

// runc's default set: enough for a shell, nothing that reaches the host (runc
// libcontainer/specconv Example()).
const defaultCaps = () => ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/**
 * The starter config.json `runc spec` writes (field for field, so configs and scripts
 * written against runc behave the same), or its `--rootless` variant.
 */
export function defaultRuntimeConfig(opts: DefaultRuntimeConfigOptions = {}): RuntimeConfig {
  const config: RuntimeConfig = {
    ociVersion: OCI_RUNTIME_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: defaultCaps(),
        effective: defaultCaps(),
        permitted: defaultCaps(),
        ambient: defaultCaps(),
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  if (opts.rootless)
    makeRootless(config, opts.uid ?? process.geteuid?.() ?? 0, opts.gid ?? process.getegid?.() ?? 0);
  return config;
}

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
}

/**
 * runc's ToRootless: an unprivileged user cannot create a network namespace it could
 * configure, cannot mount a fresh sysfs without owning the network namespace (so /sys
 * is bind-mounted), has no gid 5 to give devpts, and owns no device cgroup.
 */
function makeRootless(config: RuntimeConfig, uid: number, gid: number): void {
  const linux = config.linux ?? {};
  // Key order as runc writes it, so the file matches `runc spec --rootless` byte for byte.
  config.linux = {
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    namespaces: [...(linux.namespaces ?? []).filter((n) => n.type !== 'network'), { type: 'user' }],
    ...(linux.maskedPaths ? { maskedPaths: linux.maskedPaths } : {}),
    ...(linux.readonlyPaths ? { readonlyPaths: linux.readonlyPaths } : {}),
  };
  for (const m of config.mounts ?? []) {
    if (m.destination === '/sys') {
      m.type = 'none';
      m.source = '/sys';
      m.options = ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'];
    } else if (m.options) {
      m.options = m.options.filter((o) => !o.startsWith('gid='));
    }
  }
}
