import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig, type RuntimeConfig } from '@ctr/spec';
import { makeBusyboxRootfs, makeTmp, needsCommand, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRootfs, type RootfsPlan, readHostCgroups } from '../src/index.ts';

const dir = makeTmp('ctr-rootfs-');
const bundle = join(dir, 'bundle');
const rootfs = join(bundle, 'rootfs');
const host = join(dir, 'host');
afterAll(() => removeTmp(dir));
beforeAll(() => {
  mkdirSync(rootfs, { recursive: true });
  makeBusyboxRootfs(rootfs);
  mkdirSync(host);
  writeFileSync(join(host, 'secret'), 'host\n');
});

const fixture = new URL('./fixtures/init.ts', import.meta.url).pathname;
const UNSHARE: Record<string, string> = {
  user: '--user',
  pid: '--pid',
  network: '--net',
  mount: '--mount',
  ipc: '--ipc',
  uts: '--uts',
  cgroup: '--cgroup',
};

function config(edit: (c: RuntimeConfig) => void = () => {}): RuntimeConfig {
  const c = defaultRuntimeConfig() as RuntimeConfig;
  c.linux!.namespaces = (c.linux!.namespaces ?? []).concat([{ type: 'cgroup' }]);
  // The tests run without a terminal; the console test turns it on.
  c.process!.terminal = false;
  edit(c);
  return c;
}

/**
 * Runs `script` in a container whose namespaces util-linux unshare(1) creates and whose
 * root the test init builds from the plan; returns its output.
 */
function run(
  c: RuntimeConfig,
  script: string,
  opts: {
    plan?: (p: RootfsPlan) => void;
    swap?: object;
    noPivot?: boolean;
    unshare?: string[];
    console?: string;
  } = {},
) {
  const plan = planRootfs(c, { bundleDir: bundle, cgroups: readHostCgroups(), noPivot: opts.noPivot });
  opts.plan?.(plan);
  const planFile = join(dir, 'plan.json');
  writeFileSync(planFile, JSON.stringify({ plan, swap: opts.swap, console: opts.console }));
  const flags = (c.linux?.namespaces ?? [])
    .map((n) => UNSHARE[n.type])
    .filter((f): f is string => f !== undefined);
  const r = spawnSync(
    'unshare',
    [
      ...flags,
      ...(opts.unshare ?? []),
      '--propagation',
      'unchanged',
      '--fork',
      process.execPath,
      '--conditions=source',
      fixture,
      planFile,
      '/bin/sh',
      '-c',
      script,
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/**
 * The host's mounts under this test's directory: other test files run in parallel and
 * mount their own things elsewhere, so only these must be left unchanged.
 */
const hostMountsHere = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir))
    .join('\n');

/** The mountinfo lines of the container, keyed by mount point. */
const mountsOf = (out: string) =>
  new Map(
    out
      .split('\n')
      .filter((l) => l.includes(' - '))
      .map((l) => [l.split(' ')[4]!, l] as const),
  );

describe.runIf(runnable('rootfs in real namespaces', needsRoot(), needsCommand('unshare', 'util-linux')))(
  'applyRootfs',
  () => {
    it('builds the default runc-style root: mounts, devices, links, masked and read-only paths, read-only root', () => {
      const hostMounts = hostMountsHere();
      const r = run(
        config((c) => {
          c.linux!.devices = [
            { path: '/dev/custom', type: 'c', major: 1, minor: 7, fileMode: 0o600, uid: 1000, gid: 1000 },
          ];
        }),
        [
          'echo ppid=$PPID',
          'cat /proc/self/mountinfo',
          "stat -c '%n %F %t:%T %a %u:%g' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/custom",
          'echo links $(for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done)',
          'echo keys=$(cat /proc/keys | wc -c)',
          'echo firmware=$(ls -A /sys/firmware | wc -l)',
          '(echo 5 > /proc/sys/kernel/printk_ratelimit) 2>&1',
          'touch /newfile 2>&1',
          'touch /dev/shm/ok && echo shm-writable',
          'echo done',
        ].join('; '),
      );
      expect(r.err).toBe('');
      expect(r.status).toBe(0);
      // The init (Node) is PID 1 of the new pid namespace and the shell its child.
      expect(r.out).toMatch(/^ppid=1$/m);
      const m = mountsOf(r.out);
      expect(m.get('/')).toMatch(/ \/ ro,/);
      expect(m.get('/proc')).toMatch(/ - proc proc /);
      // strictatime: mountinfo shows no relatime for it.
      expect(m.get('/dev')).toMatch(/ \/dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755/);
      expect(m.get('/dev/pts')).toMatch(
        / rw,nosuid,noexec[,\w]* - devpts devpts rw,gid=5,mode=620,ptmxmode=666/,
      );
      expect(m.get('/dev/shm')).toMatch(/ rw,nosuid,nodev,noexec[,\w]* - tmpfs shm /);
      expect(m.get('/dev/mqueue')).toMatch(/ - mqueue mqueue /);
      expect(m.get('/sys')).toMatch(/ ro,nosuid,nodev,noexec[,\w]* - sysfs sysfs /);
      expect(m.get('/sys/fs/cgroup')).toMatch(/ ro,nosuid,nodev,noexec[,\w]* - (tmpfs|cgroup2) /);
      expect(m.get('/proc/sys')).toMatch(/ \/proc\/sys ro,/);
      expect(m.get('/proc/keys')).toMatch(/ \/null \/proc\/keys .* - tmpfs tmpfs /);
      expect(m.get('/proc/acpi')).toMatch(/ ro,[,\w]* - tmpfs (tmpfs|none) /);
      expect(m.get('/sys/firmware')).toMatch(/ ro,[,\w]* - tmpfs (tmpfs|none) /);
      expect(r.out).toContain('/dev/null character special file 1:3 666 0:0');
      expect(r.out).toContain('/dev/zero character special file 1:5 666 0:0');
      expect(r.out).toContain('/dev/tty character special file 5:0 666 0:0');
      expect(r.out).toContain('/dev/custom character special file 1:7 600 1000:1000');
      expect(r.out).toContain('links /proc/self/fd /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2 pts/ptmx');
      expect(r.out).toMatch(/^keys=0$/m);
      expect(r.out).toMatch(/^firmware=0$/m);
      expect(r.out).toMatch(/can't create \/proc\/sys\/kernel\/printk_ratelimit: Read-only file system/);
      expect(r.out).toMatch(/touch: \/newfile: Read-only file system/);
      expect(r.out).toMatch(/^shm-writable$/m);
      expect(hostMountsHere()).toBe(hostMounts);
    });

    it('is seen from the host as a process with its own mount table and root', async () => {
      const c = config();
      const plan = planRootfs(c, { bundleDir: bundle, cgroups: readHostCgroups() });
      const planFile = join(dir, 'outside.json');
      writeFileSync(planFile, JSON.stringify({ plan }));
      const launcher = spawn(
        'unshare',
        [
          '--pid',
          '--mount',
          '--uts',
          '--ipc',
          '--propagation',
          'unchanged',
          '--fork',
          process.execPath,
          '--conditions=source',
          fixture,
          planFile,
          '/bin/sh',
          '-c',
          'echo ready; read x',
        ],
        { stdio: ['pipe', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          launcher.stdout.once('data', () => resolve());
          launcher.once('exit', () => reject(new Error('the container exited early')));
        });
        const children = (pid: number) =>
          readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
            .trim()
            .split(' ')
            .filter(Boolean)
            .map(Number);
        const init = children(launcher.pid!)[0]!;
        const shell = children(init)[0]!;
        const ns = (pid: number | 'self', t: string) => readlinkSync(`/proc/${pid}/ns/${t}`);
        expect(ns(shell, 'mnt')).not.toBe(ns('self', 'mnt'));
        expect(ns(shell, 'mnt')).toBe(ns(init, 'mnt'));
        expect(ns(shell, 'net')).toBe(ns('self', 'net'));
        expect(readdirSync(`/proc/${shell}/root`).sort()).toEqual(readdirSync(rootfs).sort());
        const m = mountsOf(readFileSync(`/proc/${shell}/mountinfo`, 'utf8'));
        expect(m.get('/')).toMatch(/ \/ ro,/);
        expect(m.get('/dev/null')).toBeUndefined();
        expect(m.get('/proc/sys')).toMatch(/ \/proc\/sys ro,/);
        const st = statSync(`/proc/${shell}/root/dev/null`);
        expect([st.isCharacterDevice(), st.rdev]).toEqual([true, 0x103]);
      } finally {
        launcher.stdin.end('\n');
        await new Promise((r) => launcher.once('close', r));
      }
    });

    it('mounts cgroup hierarchies of the container’s own cgroup namespace, read-only', () => {
      const r = run(config(), 'cat /proc/self/mountinfo; ls /sys/fs/cgroup');
      expect(r.err).toBe('');
      for (const h of readHostCgroups()) {
        const line = mountsOf(r.out).get(h.name ? `/sys/fs/cgroup/${h.name}` : '/sys/fs/cgroup');
        expect(line, h.name).toMatch(new RegExp(` / /sys/fs/cgroup\\S* ro,.* - ${h.type} `));
      }
    });

    it('binds host directories and files with their options', () => {
      const r = run(
        config((c) => {
          c.mounts!.push(
            {
              destination: '/mnt/dir',
              type: 'bind',
              source: host,
              options: ['rbind', 'rro', 'nosuid', 'rprivate'],
            },
            { destination: '/etc/secret', source: join(host, 'secret'), options: ['bind', 'ro', 'noexec'] },
            {
              destination: '/mnt/rw',
              type: 'bind',
              source: host,
              options: ['bind', 'rw', 'nodev', 'noatime'],
            },
          );
        }),
        'cat /proc/self/mountinfo; cat /etc/secret; touch /mnt/dir/x 2>&1; touch /mnt/rw/created && echo rw-ok',
      );
      expect(r.err).toBe('');
      const m = mountsOf(r.out);
      expect(m.get('/mnt/dir')).toMatch(/ \/mnt\/dir ro,nosuid,relatime - /);
      // rprivate: no shared: or master: tag in the optional fields.
      expect(m.get('/mnt/dir')?.split(' - ')[0]).not.toMatch(/shared:|master:/);
      expect(m.get('/etc/secret')).toMatch(/\/secret \/etc\/secret ro,noexec,relatime - /);
      expect(m.get('/mnt/rw')).toMatch(/ \/mnt\/rw rw,nodev,noatime - /);
      expect(r.out).toMatch(/^host$/m);
      expect(r.out).toMatch(/touch: \/mnt\/dir\/x: Read-only file system/);
      expect(r.out).toMatch(/^rw-ok$/m);
      expect(readdirSync(host).sort()).toEqual(['created', 'secret']);
      rmSync(join(host, 'created'));
    });

    it('binds devices from the host in a user namespace, where mknod is not allowed', () => {
      const r = run(
        config((c) => {
          c.linux!.namespaces!.push({ type: 'user' });
          c.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
          c.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
          // cgroup v1 hierarchies cannot be mounted from a user namespace.
          c.mounts = c.mounts!.filter((m) => m.type !== 'cgroup');
          // gid 5 is not mapped in this namespace (ctr spec --rootless drops it too).
          for (const m of c.mounts) m.options = m.options?.filter((o) => !o.startsWith('gid='));
        }),
        "cat /proc/self/uid_map; cat /proc/self/mountinfo; stat -c '%n %t:%T' /dev/null /dev/tty; echo x > /dev/null && echo null-ok",
        { unshare: ['--map-root-user'] },
      );
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^\s+0\s+0\s+1$/m);
      expect(mountsOf(r.out).get('/dev/null')).toMatch(/ \/dev\/null /);
      expect(r.out).toContain('/dev/null 1:3');
      expect(r.out).toContain('/dev/tty 5:0');
      expect(r.out).toMatch(/^null-ok$/m);
    });

    it('binds the terminal fd on /dev/console when process.terminal is set', () => {
      const c = config((c) => {
        c.process!.terminal = true;
      });
      const r = run(c, "stat -c '%n %t:%T' /dev/console; grep ' /dev/console ' /proc/self/mountinfo", {
        console: '/dev/full',
      });
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^\/dev\/console 1:7$/m);
      expect(r.out).toMatch(/ \/dev\/console /);
      const missing = run(c, 'true');
      expect(missing.status).toBe(97);
      expect(missing.err).toMatch(/pass the pty slave fd as consoleFd/);
    });

    it('writes sysctls of the namespaces the container owns', () => {
      const hostForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
      const r = run(
        config((c) => {
          c.linux!.namespaces!.push({ type: 'network' });
          c.linux!.sysctl = {
            'net.ipv4.ip_forward': hostForward.trim() === '1' ? '0' : '1',
            'kernel.shmmni': '1234',
          };
        }),
        'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni',
      );
      expect(r.err).toBe('');
      expect(r.out).toBe(`${hostForward.trim() === '1' ? '0' : '1'}\n1234\n`);
      expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(hostForward);
    });

    it('refuses to write a sysctl through a /proc that is not procfs', () => {
      const fake = join(rootfs, 'proc/sys/net/ipv4');
      mkdirSync(fake, { recursive: true });
      writeFileSync(join(fake, 'ip_forward'), '0\n');
      try {
        const r = run(
          config((c) => {
            c.linux!.namespaces!.push({ type: 'network' });
            c.mounts = c.mounts!.filter((m) => m.type !== 'proc');
            c.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
          }),
          'true',
        );
        expect(r.status).toBe(97);
        expect(r.err).toMatch(
          /^rootfs: write \/proc\/sys\/net\/ipv4\/ip_forward — \/proc in the container is not procfs/m,
        );
        expect(readFileSync(join(fake, 'ip_forward'), 'utf8')).toBe('0\n');
      } finally {
        rmSync(join(rootfs, 'proc/sys'), { recursive: true, force: true });
      }
    });

    it('keeps a mount whose destination goes through a symlink to a host path, or through "..", inside the root', () => {
      const hostMounts = hostMountsHere();
      symlinkSync(host, join(rootfs, 'hostlink'));
      const withSub = config((c) => {
        c.mounts!.push({ destination: '/hostlink/sub', type: 'tmpfs', source: 'tmpfs' });
      });
      try {
        // The link's target does not exist inside the root: a clear error, nothing created on the host.
        const dangling = run(withSub, 'true');
        expect(dangling.status).toBe(97);
        expect(dangling.err).toMatch(
          /^rootfs: create \/hostlink\/sub in the root: ENOENT — a component is a symlink/,
        );
        expect(readdirSync(host)).toEqual(['secret']);
        mkdirSync(join(rootfs, host), { recursive: true });
        const r = run(
          config((c) => {
            c.mounts!.push(
              { destination: '/hostlink/sub', type: 'tmpfs', source: 'tmpfs' },
              { destination: `/../../../..${host}/dotdot`, type: 'tmpfs', source: 'tmpfs' },
            );
          }),
          'cat /proc/self/mountinfo',
        );
        expect(r.err).toBe('');
        const m = mountsOf(r.out);
        // The symlink was followed as if the rootfs were "/": the mount is at <rootfs><host>/sub.
        expect(m.get(`${host}/sub`)).toMatch(/ - tmpfs tmpfs /);
        expect(m.get(`${host}/dotdot`)).toMatch(/ - tmpfs tmpfs /);
        expect(existsSync(join(rootfs, host, 'sub'))).toBe(true);
        expect(readdirSync(host)).toEqual(['secret']);
        expect(hostMountsHere()).toBe(hostMounts);
      } finally {
        rmSync(join(rootfs, 'hostlink'));
        rmSync(join(rootfs, dir.slice(1).split('/')[0]!), { recursive: true, force: true });
      }
    });

    it('mounts on the resolved fd when the destination is swapped for a host symlink after resolution', () => {
      mkdirSync(join(rootfs, 'data'));
      try {
        const r = run(
          config((c) => {
            c.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs' });
          }),
          'cat /proc/self/mountinfo; touch /data.old/marker && echo wrote',
          { swap: { destination: '/data', hostPath: join(rootfs, 'data'), target: host } },
        );
        expect(r.err).toBe('');
        const m = mountsOf(r.out);
        expect(m.get('/data.old')).toMatch(/ - tmpfs tmpfs /);
        expect(m.get('/data')).toBeUndefined();
        expect(r.out).toMatch(/^wrote$/m);
        expect(readdirSync(host)).toEqual(['secret']);
      } finally {
        rmSync(join(rootfs, 'data'), { force: true });
        rmSync(join(rootfs, 'data.old'), { recursive: true, force: true });
      }
    });

    it('copies from the resolved fd when a tmpcopyup destination is swapped for a host symlink', () => {
      mkdirSync(join(rootfs, 'data'));
      writeFileSync(join(rootfs, 'data/image-file'), 'image\n');
      try {
        const r = run(
          config((c) => {
            c.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] });
          }),
          "grep ' /data.old ' /proc/self/mountinfo; ls -A /data.old",
          { swap: { destination: '/data', hostPath: join(rootfs, 'data'), target: host } },
        );
        expect(r.err).toBe('');
        expect(r.out).toMatch(/ - tmpfs tmpfs .*\nimage-file\n$/);
        expect(readdirSync(host)).toEqual(['secret']);
      } finally {
        rmSync(join(rootfs, 'data'), { force: true });
        rmSync(join(rootfs, 'data.old'), { recursive: true, force: true });
      }
    });

    it('refuses to mask paths with a /dev/null that is not the real device (CVE-2025-31133)', () => {
      const c = config();
      const dropNull = (p: RootfsPlan) => {
        p.ops = p.ops.filter((o) => !(o.op === 'mknod' && o.path === '/dev/null'));
      };
      // No /dev tmpfs: the image's own /dev is used, and the image controls /dev/null.
      c.mounts = c.mounts!.filter((m) => !m.destination.startsWith('/dev'));
      c.mounts.push({ destination: '/dev/pts', type: 'devpts', source: 'devpts' });
      symlinkSync('/proc/sys/kernel/core_pattern', join(rootfs, 'dev/null'));
      try {
        const r = run(c, 'true', { plan: dropNull });
        expect(r.status).toBe(97);
        expect(r.err).toMatch(/^rootfs: mask \/proc\/\S+ .*ELOOP/m);
        rmSync(join(rootfs, 'dev/null'));
        writeFileSync(join(rootfs, 'dev/null'), '');
        const r2 = run(c, 'true', { plan: dropNull });
        expect(r2.status).toBe(97);
        expect(r2.err).toMatch(/not the character device 1:3/);
      } finally {
        rmSync(join(rootfs, 'dev'), { recursive: true, force: true });
        mkdirSync(join(rootfs, 'dev'));
      }
    });

    it('fills a tmpcopyup tmpfs on /etc with the image’s /etc, writable over a read-only root', () => {
      const hostMounts = hostMountsHere();
      mkdirSync(join(rootfs, 'etc/hostdir'));
      symlinkSync('passwd', join(rootfs, 'etc/passwd.link'));
      try {
        const r = run(
          config((c) => {
            c.root!.readonly = true;
            c.mounts!.push(
              // Mounted first: the copy does not cross into it (it is hidden by the tmpfs anyway).
              { destination: '/etc/hostdir', type: 'bind', source: host, options: ['rbind', 'ro'] },
              {
                destination: '/etc',
                type: 'tmpfs',
                source: 'tmpfs',
                options: ['rw', 'nosuid', 'nodev', 'tmpcopyup'],
              },
              // Read-only after the copy; and a destination the image lacks keeps tmpfs's 1777.
              { destination: '/bin', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'tmpcopyup'] },
              { destination: '/fresh', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] },
            );
          }),
          [
            "grep ' /etc ' /proc/self/mountinfo",
            'head -1 /etc/passwd',
            'readlink /etc/passwd.link',
            "stat -c '%n %a %u:%g' /etc /etc/passwd",
            'ls -A /etc/hostdir | wc -l',
            'echo changed > /etc/hostname && cat /etc/hostname',
            'touch /root/x 2>&1',
            "grep ' /bin ' /proc/self/mountinfo",
            'touch /bin/x 2>&1',
            "stat -c '%n %a' /fresh",
            'true',
          ].join('; '),
        );
        expect(r.err).toBe('');
        expect(r.status).toBe(0);
        expect(r.out).toMatch(/ \/etc rw,nosuid,nodev[,\w]* - tmpfs tmpfs /);
        expect(r.out).toContain('root:x:0:0:root:/root:/bin/sh\npasswd\n');
        const mode = (p: string) => (statSync(join(rootfs, p)).mode & 0o7777).toString(8);
        expect(r.out).toContain(`/etc ${mode('etc')} 0:0\n/etc/passwd ${mode('etc/passwd')} 0:0\n`);
        expect(r.out).toMatch(/^0\nchanged$/m);
        expect(r.out).toMatch(/touch: \/root\/x: Read-only file system/);
        expect(r.out).toMatch(/ \/bin ro,[,\w]* - tmpfs tmpfs /);
        expect(r.out).toMatch(/touch: \/bin\/x: Read-only file system/);
        expect(r.out).toMatch(/^\/fresh 1777$/m);
        // The image is untouched: the write went to the tmpfs.
        expect(readFileSync(join(rootfs, 'etc/hostname'), 'utf8')).toBe('ctr\n');
        expect(hostMountsHere()).toBe(hostMounts);
      } finally {
        rmSync(join(rootfs, 'etc/hostdir'), { recursive: true });
        rmSync(join(rootfs, 'etc/passwd.link'));
        rmSync(join(rootfs, 'fresh'), { recursive: true, force: true });
      }
    });

    it('keeps a tmpcopyup copy inside the root when the image points symlinks at the host', () => {
      const hostMounts = hostMountsHere();
      // A symlink inside the destination to a host file, and a destination that is a
      // symlink to a host directory: both resolve inside the root, the host is not read.
      symlinkSync(join(host, 'secret'), join(rootfs, 'etc/evil'));
      symlinkSync(host, join(rootfs, 'hostlink'));
      mkdirSync(join(rootfs, host), { recursive: true });
      writeFileSync(join(rootfs, host, 'image-file'), 'image\n');
      symlinkSync('/proc', join(rootfs, 'proclink'));
      const tmpcopyup = (destination: string) => ({
        destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['tmpcopyup'],
      });
      try {
        const r = run(
          config((c) => {
            c.mounts!.push(tmpcopyup('/etc'), tmpcopyup('/hostlink'));
          }),
          'readlink /etc/evil; cat /etc/evil 2>&1; ls -A /hostlink; echo w > /hostlink/new; cat /proc/self/mountinfo',
        );
        expect(r.err).toBe('');
        expect(r.out).toContain(
          `${host}/secret\ncat: can't open '/etc/evil': No such file or directory\nimage-file\n`,
        );
        expect(mountsOf(r.out).get(host)).toMatch(/ - tmpfs tmpfs /);
        expect(readdirSync(host)).toEqual(['secret']);
        expect(readdirSync(join(rootfs, host))).toEqual(['image-file']);
        // The image makes the destination a symlink to /proc, mounted before it: a copy
        // would carry /proc's files past the masked paths. Refused.
        const proc = run(
          config((c) => {
            c.mounts!.push(tmpcopyup('/proclink'));
          }),
          'true',
        );
        expect(proc.status).toBe(97);
        expect(proc.err).toMatch(
          /^rootfs: copy \/proclink into its tmpfs \(tmpcopyup\) — the destination resolves to a proc filesystem/m,
        );
        expect(hostMountsHere()).toBe(hostMounts);
      } finally {
        rmSync(join(rootfs, 'etc/evil'));
        rmSync(join(rootfs, 'hostlink'));
        rmSync(join(rootfs, 'proclink'));
        rmSync(join(rootfs, dir.slice(1).split('/')[0]!), { recursive: true, force: true });
      }
    });

    it('falls back to MS_MOVE + chroot with noPivot', () => {
      const r = run(config(), 'ls /; cat /proc/self/mountinfo', { noPivot: true });
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^busybox$|^bin$/m);
      expect(mountsOf(r.out).get('/proc')).toMatch(/ - proc proc /);
    });
  },
);
