import { knownCapabilities, probePrivilegesHost } from '@ctr/capabilities';
import { ARCHES } from '@ctr/seccomp';
import { type Features, OCI_RUNTIME_VERSION, SECCOMP_ACTIONS, SECCOMP_OPERATORS } from '@ctr/spec';

/**
 * runtime-spec features.json: what this build of ctr really does on this host, so a
 * caller (containerd, podman) can decide before it creates anything. Left out on
 * purpose: systemd cgroups, AppArmor/SELinux
 * labels, Intel RDT and idmapped mounts.
 */
export function features(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_RUNTIME_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [
      'async',
      'lazytime',
      'nolazytime',
      'nosymfollow',
      'symfollow',
      'atime',
      'bind',
      'defaults',
      'dev',
      'diratime',
      'dirsync',
      'exec',
      'mand',
      'noatime',
      'nodev',
      'nodiratime',
      'noexec',
      'nomand',
      'norelatime',
      'nostrictatime',
      'nosuid',
      'private',
      'rbind',
      'relatime',
      'remount',
      'ro',
      'rprivate',
      'rshared',
      'rslave',
      'runbindable',
      'rw',
      'shared',
      'slave',
      'strictatime',
      'suid',
      'sync',
      'tmpcopyup',
      'unbindable',
    ],
    linux: {
      namespaces: ['user', 'pid', 'network', 'mount', 'ipc', 'uts', 'cgroup', 'time'],
      capabilities: knownCapabilities(probePrivilegesHost().lastCap),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: Object.values(ARCHES).map((a) => a.ociName),
        knownFlags: [
          'SECCOMP_FILTER_FLAG_TSYNC',
          'SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
          'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
        ],
        supportedFlags: [
          'SECCOMP_FILTER_FLAG_TSYNC',
          'SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
          'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
        ],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'org.opencontainers.runtime-spec.features.runtime': 'ctr' },
  };
}
