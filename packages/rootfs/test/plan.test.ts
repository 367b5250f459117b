import { defaultRuntimeConfig, type RuntimeConfig } from '@ctr/spec';
import { MOUNT_ATTR, MS } from '@ctr/sys';
import { describe, expect, it } from 'vitest';
import {
  checkSysctl,
  containerPath,
  formatRootfsPlan,
  parseCgroupMounts,
  parseMountOptions,
  planRootfs,
  type RootfsConfig,
} from '../src/index.ts';

const host = { bundleDir: '/b', cgroups: [{ name: '', type: 'cgroup2' as const, options: [] }] };
const base = (edit: (c: RuntimeConfig) => void = () => {}) => {
  const c = defaultRuntimeConfig() as RuntimeConfig;
  edit(c);
  return c;
};

describe('parseMountOptions', () => {
  it('sorts options into attributes, recursive attributes, propagation and data', () => {
    const o = parseMountOptions(
      ['rbind', 'ro', 'nosuid', 'rnoexec', 'rrw', 'strictatime', 'rslave', 'size=1m', 'newinstance'],
      'm',
    );
    expect(o).toEqual({
      bind: true,
      recursive: true,
      attrSet: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.STRICTATIME,
      attrClr: MOUNT_ATTR._ATIME,
      recAttrSet: MOUNT_ATTR.NOEXEC,
      recAttrClr: MOUNT_ATTR.RDONLY,
      propagation: [{ type: MS.SLAVE, recursive: true }],
      data: ['size=1m', 'newinstance'],
      copyUp: false,
    });
    expect(parseMountOptions(['rw', 'tmpcopyup', 'mode=1777'], 'm')).toMatchObject({
      copyUp: true,
      data: ['mode=1777'],
    });
    expect(parseMountOptions(['ro', 'rw'], 'm').attrSet & MOUNT_ATTR.RDONLY).toBe(0);
    expect(() => parseMountOptions(['idmap'], 'mounts[3]')).toThrow(
      /^rootfs: parse mounts\[3\] option idmap — the "idmap" mount option is not supported/,
    );
  });
});

describe('planRootfs', () => {
  it('plans the default config in runc order and prints it stably', () => {
    const lines = formatRootfsPlan(planRootfs(base(), host));
    expect(lines.slice(0, 4)).toEqual([
      'propagation / rslave',
      'bind-root /b/rootfs',
      'mount proc (proc) -> /proc',
      'mount tmpfs (tmpfs) -> /dev [nosuid,strictatime,mode=755,size=65536k]',
    ]);
    expect(lines).toContain('mount sysfs (sysfs) -> /sys [ro,nosuid,nodev,noexec]');
    expect(lines).toContain('mount cgroup2 (cgroup) -> /sys/fs/cgroup [ro,nosuid,nodev,noexec,relatime]');
    expect(lines).toContain('mknod /dev/null c 1:3 mode=0666 uid=0 gid=0');
    expect(lines).toContain('symlink /dev/ptmx -> pts/ptmx');
    // runc's default config asks for a terminal.
    expect(lines.indexOf('console /dev/console <- the terminal fd')).toBe(lines.indexOf('pivot_root') - 1);
    const noTty = formatRootfsPlan(
      planRootfs(
        base((c) => {
          c.process!.terminal = false;
        }),
        host,
      ),
    );
    expect(noTty).not.toContain('console /dev/console <- the terminal fd');
    const pivot = lines.indexOf('pivot_root');
    expect(lines.indexOf('readonly /proc/sys')).toBeGreaterThan(pivot);
    expect(lines.indexOf('mask /proc/kcore')).toBeGreaterThan(lines.indexOf('readonly /proc/sys'));
    expect(lines.at(-1)).toBe('readonly-root');
    expect(formatRootfsPlan(planRootfs(base(), host))).toEqual(lines);
  });

  it('mounts sysfs read-only without a new network namespace, and rw with one', () => {
    const rw = base((c) => {
      c.linux!.namespaces!.push({ type: 'network' });
      c.mounts!.find((m) => m.type === 'sysfs')!.options = ['nosuid'];
    });
    expect(formatRootfsPlan(planRootfs(rw, host))).toContain('mount sysfs (sysfs) -> /sys [nosuid]');
    rw.linux!.namespaces = rw.linux!.namespaces!.filter((n) => n.type !== 'network');
    expect(formatRootfsPlan(planRootfs(rw, host))).toContain('mount sysfs (sysfs) -> /sys [ro,nosuid]');
    // A user namespace that did not make the network namespace cannot mount a sysfs.
    rw.linux!.namespaces!.push({ type: 'user' });
    expect(formatRootfsPlan(planRootfs(rw, host))).toContain('bind /sys -> /sys [rbind,ro,nosuid]');
  });

  it('expands a cgroup mount into the host’s v1 hierarchies', () => {
    const cgroups = parseCgroupMounts(
      [
        '30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755',
        '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate',
        '33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
        '34 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
      ].join('\n'),
    );
    const lines = formatRootfsPlan(planRootfs(base(), { bundleDir: '/b', cgroups }));
    const at = lines.indexOf(
      'mount tmpfs (tmpfs) -> /sys/fs/cgroup [rw,nosuid,nodev,noexec,relatime,mode=755]',
    );
    expect(lines.slice(at, at + 7)).toEqual([
      'mount tmpfs (tmpfs) -> /sys/fs/cgroup [rw,nosuid,nodev,noexec,relatime,mode=755]',
      'mount cgroup2 (cgroup) -> /sys/fs/cgroup/unified [ro,nosuid,nodev,noexec,relatime,nsdelegate]',
      'mount cgroup (cgroup) -> /sys/fs/cgroup/cpu,cpuacct [ro,nosuid,nodev,noexec,relatime,cpu,cpuacct]',
      'symlink /sys/fs/cgroup/cpu -> cpu,cpuacct',
      'symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct',
      'mount cgroup (cgroup) -> /sys/fs/cgroup/systemd [ro,nosuid,nodev,noexec,relatime,xattr,name=systemd]',
      'setattr /sys/fs/cgroup [ro]',
    ]);
  });

  it('binds the container’s own cgroup of each hierarchy when it has no cgroup namespace', () => {
    const cgroups = parseCgroupMounts(
      [
        '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate',
        '33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
        '34 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
      ].join('\n'),
    );
    const cgroupPaths = { '': '/ctr/c1', cpu: '/ctr/c1', cpuacct: '/ctr/c1', 'name=systemd': '/user.slice' };
    const lines = formatRootfsPlan(planRootfs(base(), { bundleDir: '/b', cgroups, cgroupPaths })).filter(
      (l) => l.includes('/sys/fs/cgroup/'),
    );
    expect(lines.filter((l) => l.startsWith('bind'))).toEqual([
      'bind /sys/fs/cgroup/unified/ctr/c1 -> /sys/fs/cgroup/unified [bind,ro,nosuid,nodev,noexec,relatime]',
      'bind /sys/fs/cgroup/cpu,cpuacct/ctr/c1 -> /sys/fs/cgroup/cpu,cpuacct [bind,ro,nosuid,nodev,noexec,relatime]',
      'bind /sys/fs/cgroup/systemd/user.slice -> /sys/fs/cgroup/systemd [bind,ro,nosuid,nodev,noexec,relatime]',
    ]);
    // In its own cgroup namespace the fresh mounts already show only its cgroup.
    const withNs = base((c) => c.linux!.namespaces!.push({ type: 'cgroup' }));
    expect(
      formatRootfsPlan(planRootfs(withNs, { bundleDir: '/b', cgroups, cgroupPaths })).some((l) =>
        l.startsWith('bind /sys/fs/cgroup/'),
      ),
    ).toBe(false);
  });

  it('mounts cgroups read-only unless "rw" is asked for', () => {
    const plan = (options: string[]) =>
      formatRootfsPlan(
        planRootfs(
          base((c) => {
            c.mounts = [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options }];
          }),
          host,
        ),
      );
    expect(plan(['nosuid'])).toContain('mount cgroup2 (cgroup) -> /sys/fs/cgroup [ro,nosuid]');
    expect(plan(['rw'])).toContain('mount cgroup2 (cgroup) -> /sys/fs/cgroup [rw]');
  });

  it('binds devices from the host in a user namespace, and supports --no-pivot', () => {
    const c = base((c) => {
      c.linux!.namespaces!.push({ type: 'user' });
      c.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
    });
    const lines = formatRootfsPlan(planRootfs(c, { ...host, noPivot: true }));
    expect(lines).toContain('bind-device /dev/null');
    expect(lines).toContain('bind-device /dev/fuse');
    expect(lines.some((l) => l.startsWith('mknod'))).toBe(false);
    expect(lines).toContain('move-root (MS_MOVE + chroot)');
  });

  it('resolves relative paths against the bundle and cleans destinations', () => {
    const plan = planRootfs(
      base((c) => {
        c.mounts = [{ destination: '/../../etc/../x//y/', source: 'data', options: ['rbind', 'rro'] }];
      }),
      host,
    );
    expect(formatRootfsPlan(plan)).toContain('bind /b/data -> /x/y [rbind,rro]');
    expect(containerPath('a/../../b')).toBe('/b');
  });

  it.each([
    [(c: RuntimeConfig) => (c.linux!.namespaces = [{ type: 'pid' }]), /needs a mount namespace/],
    [
      (c: RuntimeConfig) => c.mounts!.push({ destination: '/../', type: 'tmpfs' }),
      /a mount cannot cover the root/,
    ],
    [
      (c: RuntimeConfig) => c.mounts!.push({ destination: '/x', options: ['bind'] }),
      /a bind mount needs a source/,
    ],
    [(c: RuntimeConfig) => c.mounts!.push({ destination: '/x' }), /a mount needs a type/],
    [
      (c: RuntimeConfig) =>
        c.mounts!.push({
          destination: '/x',
          source: '/y',
          options: ['bind'],
          uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        }),
      /id-mapped mounts .* are not supported/,
    ],
    [
      (c: RuntimeConfig) =>
        c.mounts!.push({ destination: '/x', source: '/y', options: ['rbind', 'size=1m'] }),
      /filesystem options have no effect on a bind mount: size=1m/,
    ],
    [
      (c: RuntimeConfig) =>
        c.mounts!.push({ destination: '/x', source: '/y', options: ['rbind', 'tmpcopyup'] }),
      /mounts\[\d+\] \/x — the tmpcopyup option applies to tmpfs mounts only/,
    ],
    [
      (c: RuntimeConfig) =>
        c.mounts!.push({ destination: '/x', type: 'tmpfs', source: '/y', options: ['bind', 'tmpcopyup'] }),
      /the tmpcopyup option applies to tmpfs mounts only/,
    ],
    [
      (c: RuntimeConfig) => c.mounts!.push({ destination: '/x', type: 'proc', options: ['tmpcopyup'] }),
      /the tmpcopyup option applies to tmpfs mounts only/,
    ],
    [(c: RuntimeConfig) => (c.linux!.devices = [{ path: '/dev/x', type: 'c' }]), /needs major and minor/],
    [
      (c: RuntimeConfig) => {
        c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'network');
        c.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
      },
      /belongs to the network namespace, which the container does not have/,
    ],
    [
      (c: RuntimeConfig) => (c.linux!.sysctl = { 'vm.swappiness': '1' }),
      /not namespaced: writing it would change the host/,
    ],
    [(c: RuntimeConfig) => (c.linux!.sysctl = { 'net..x': '1' }), /dot-separated words/],
    [(c: RuntimeConfig) => (c.linux!.sysctl = { 'net/../../x': '1' }), /dot-separated words/],
  ] as [(c: RuntimeConfig) => void, RegExp][])(
    'refuses a hostile or impossible config (%#)',
    (edit, message) => {
      expect(() => planRootfs(base(edit) as RootfsConfig, host)).toThrow(message);
    },
  );

  it('plans a tmpcopyup tmpfs (podman --read-only, --tmpfs) and prints the option', () => {
    const plan = planRootfs(
      base((c) => {
        c.mounts!.push({
          destination: '/etc/',
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'],
        });
      }),
      host,
    );
    expect(plan.ops).toContainEqual(
      expect.objectContaining({
        op: 'mount',
        kind: 'fs',
        fstype: 'tmpfs',
        destination: '/etc',
        options: expect.objectContaining({ copyUp: true, data: [] }),
      }),
    );
    expect(formatRootfsPlan(plan)).toContain(
      'mount tmpfs (tmpfs) -> /etc [rw,nosuid,nodev,rprivate,tmpcopyup]',
    );
  });

  it('maps sysctls to the namespaces that own them', () => {
    const owned = new Set(['ipc', 'uts', 'network'] as const);
    expect(checkSysctl('kernel.shmmax', owned)).toBe('proc/sys/kernel/shmmax');
    expect(checkSysctl('fs.mqueue.queues_max', owned)).toBe('proc/sys/fs/mqueue/queues_max');
    expect(checkSysctl('net/ipv4/ip_forward', owned)).toBe('proc/sys/net/ipv4/ip_forward');
    expect(checkSysctl('kernel.hostname', owned)).toBe('proc/sys/kernel/hostname');
    expect(() => checkSysctl('kernel.shmmax', new Set())).toThrow(/ipc namespace/);
  });
});
