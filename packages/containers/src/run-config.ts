// The runtime config of an image-level run: the image's config (Env, Entrypoint,
// Cmd, WorkingDir, User) on a secure base, then the user's flags. Pure.
import {
  defaultRuntimeConfig,
  type ImageConfig,
  imageConfigToRuntimeConfig,
  type LinuxCapabilities,
  type LinuxSeccomp,
  type Mount,
  type RuntimeConfig,
} from '@ctr/spec';
import { parseCpus, type Volume } from './run-flags.ts';

/**
 * podman's default capability set (containers.conf): what a typical image needs to
 * install packages and drop privileges, without NET_RAW, MKNOD or AUDIT_WRITE.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

export type SeccompChoice =
  | { kind: 'default' }
  | { kind: 'unconfined' }
  | { kind: 'profile'; profile: LinuxSeccomp };

export interface RunOptions {
  /** Replaces the image's Cmd. */
  args?: string[] | undefined;
  entrypoint?: string[] | undefined;
  env?: string[] | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  volumes?: Volume[] | undefined;
  readOnly?: boolean | undefined;
  hostname?: string | undefined;
  /** "none" (a new, empty network namespace) until a network stage exists. */
  network?: 'none' | 'host' | undefined;
  memoryBytes?: number | undefined;
  cpus?: string | undefined;
  pidsLimit?: number | undefined;
  capAdd?: string[] | undefined;
  capDrop?: string[] | undefined;
  seccomp?: SeccompChoice | undefined;
  /** Default true: setuid binaries inside cannot gain privileges. */
  noNewPrivileges?: boolean | undefined;
  /** Every capability, no seccomp, no masked paths: explicit and loud. */
  privileged?: boolean | undefined;
  tty?: boolean | undefined;
}

export interface RunContext {
  /** Reads etc/passwd or etc/group inside the rootfs, resolved safely by the caller. */
  readRootfsFile?: (path: 'etc/passwd' | 'etc/group') => string | undefined;
  /** The root path as the bundle names it (usually "rootfs"). */
  rootPath: string;
  /** The profile used for `seccomp: default`. */
  defaultSeccomp: LinuxSeccomp;
  /** Every capability this kernel knows, for --privileged and --cap-add ALL. */
  allCapabilities: readonly string[];
  cgroupsPath: string;
  containerName: string;
}

/** Builds the config.json for running an image with docker/podman-style options. */
export function buildRunConfig(image: ImageConfig, opts: RunOptions, ctx: RunContext): RuntimeConfig {
  const base = defaultRuntimeConfig();
  const config = imageConfigToRuntimeConfig(image, {
    base,
    ...(ctx.readRootfsFile ? { readRootfsFile: ctx.readRootfsFile } : {}),
    ...(opts.args?.length ? { args: opts.args } : {}),
    ...(opts.entrypoint ? { entrypoint: opts.entrypoint } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.workdir ? { cwd: opts.workdir } : {}),
    ...(opts.user ? { user: opts.user } : {}),
  });
  const proc = config.process!;
  const linux = config.linux ?? {};
  config.linux = linux;

  config.root = { path: ctx.rootPath, readonly: opts.readOnly ?? false };
  config.hostname = opts.hostname ?? ctx.containerName.slice(0, 63);
  proc.terminal = opts.tty ?? false;
  proc.noNewPrivileges = opts.privileged ? false : (opts.noNewPrivileges ?? true);
  proc.capabilities = capabilitySets(opts, ctx.allCapabilities);
  linux.cgroupsPath = ctx.cgroupsPath;

  if (opts.network === 'host') {
    linux.namespaces = (linux.namespaces ?? []).filter((n) => n.type !== 'network');
  }

  const resources = linux.resources ?? {};
  linux.resources = resources;
  if (opts.memoryBytes !== undefined) resources.memory = { limit: opts.memoryBytes };
  if (opts.cpus !== undefined) resources.cpu = parseCpus(opts.cpus);
  if (opts.pidsLimit !== undefined) resources.pids = { limit: opts.pidsLimit };

  const seccomp = opts.privileged
    ? { kind: 'unconfined' as const }
    : (opts.seccomp ?? { kind: 'default' as const });
  if (seccomp.kind === 'default') linux.seccomp = ctx.defaultSeccomp;
  else if (seccomp.kind === 'profile') linux.seccomp = seccomp.profile;
  else delete linux.seccomp;

  if (opts.privileged) {
    // As podman --privileged: the kernel's views stay writable and unmasked.
    delete linux.maskedPaths;
    delete linux.readonlyPaths;
    resources.devices = [{ allow: true, access: 'rwm' }];
    for (const m of config.mounts ?? []) {
      if (m.type === 'sysfs' || m.type === 'cgroup') m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
  }

  config.mounts = [...(config.mounts ?? []), ...(opts.volumes ?? []).map(volumeMount)];
  return config;
}

function capabilitySets(opts: RunOptions, all: readonly string[]): LinuxCapabilities {
  let caps = new Set<string>(opts.privileged ? all : DEFAULT_CAPABILITIES);
  const add = opts.capAdd ?? [];
  const drop = opts.capDrop ?? [];
  if (add.includes('ALL')) caps = new Set(all);
  if (drop.includes('ALL')) caps = new Set();
  for (const c of add) if (c !== 'ALL') caps.add(c);
  for (const c of drop) if (c !== 'ALL') caps.delete(c);
  const list = [...caps].sort();
  // No ambient set: a non-root user inside gets no capabilities, as with podman.
  return { bounding: list, effective: list, permitted: list };
}

function volumeMount(v: Volume): Mount {
  return {
    destination: v.destination,
    type: 'bind',
    source: v.source,
    options: ['rbind', 'rprivate', 'nosuid', 'nodev', v.readonly ? 'ro' : 'rw'],
  };
}
