import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CtrError, namespaceId } from '@ctr/sys';
import {
  BUSYBOX,
  makeBusyboxRootfs,
  makeTmp,
  needsCommand,
  needsRoot,
  removeTmp,
  runnable,
} from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type NamespacesConfig,
  planNamespaces,
  runOnSacrificialThread,
  spawnFromSacrificialThread,
} from '../src/index.ts';

const dir = makeTmp();
afterAll(() => removeTmp(dir));

const NS = ['mnt', 'uts', 'ipc', 'net', 'pid_for_children', 'cgroup', 'time_for_children', 'user'] as const;
const mainIds = () => Object.fromEntries(NS.map((t) => [t, namespaceId('self', t as 'mnt')]));

let runs = 0;
/** Spawns a busybox shell script in the plan's namespaces; returns its output lines and exit. */
async function runShell(config: NamespacesConfig, script: string) {
  const out = join(dir, `out-${runs++}`);
  const fd = openSync(out, 'w');
  try {
    const child = await spawnFromSacrificialThread({
      plan: planNamespaces(config),
      file: BUSYBOX,
      args: ['sh', '-c', script],
      stdio: ['ignore', fd, fd],
    });
    const exit = await child.exited;
    return { pid: child.pid, exit, out: readFileSync(out, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** `readlink /proc/self/ns/X` for every type, as the shell prints it. */
const nsScript = ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup', 'time', 'user']
  .map((t) => `echo ${t}=$(readlink /proc/self/ns/${t})`)
  .join('; ');
const parseNs = (out: string) =>
  Object.fromEntries([...out.matchAll(/^(\w+)=\w+:\[(\d+)\]$/gm)].map((m) => [m[1], BigInt(m[2]!)]));

describe.runIf(runnable('sacrificial threads', needsRoot()))('runOnSacrificialThread', () => {
  it('runs a module on a thread and returns its result', async () => {
    const r = await runOnSacrificialThread<{ value: number; uts: string }>(
      new URL('./fixtures/thread-echo.ts', import.meta.url),
      { value: 42 },
    );
    expect(r).toEqual({ value: 42, uts: String(namespaceId('self', 'uts')) });
  });

  it('brings a thread error back as a CtrError', async () => {
    const err = await runOnSacrificialThread(new URL('./fixtures/thread-echo.ts', import.meta.url), {
      fail: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtrError);
    expect((err as CtrError).message).toBe('namespaces: fixture /x: EPERM — asked to fail');
  });

  it('saves and restores a thread’s namespaces', async () => {
    const r = await runOnSacrificialThread<Record<string, string[] | string>>(
      new URL('./fixtures/save-restore.ts', import.meta.url),
    );
    expect(r.name).toBe('inside');
    expect(r.after).toEqual(r.before);
    for (const i of [0, 1, 2]) expect(r.during![i]).not.toBe(r.before![i]);
    expect(r.nameAfter).toBe(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
  });
});

describe.runIf(runnable('namespaces on a sacrificial thread', needsRoot()))(
  'spawnFromSacrificialThread',
  () => {
    it('creates every namespace but user: the child is PID 1 with its own names and clocks', async () => {
      const before = mainIds();
      const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
      const r = await runShell(
        {
          hostname: 'ctr-box',
          domainname: 'ctr.test',
          linux: {
            namespaces: ['pid', 'network', 'mount', 'ipc', 'uts', 'cgroup', 'time'].map((type) => ({
              type,
            })) as never,
            timeOffsets: { boottime: { secs: 1_000_000 } },
          },
        },
        `echo pid=$$; echo host=$(hostname); echo domain=$(cat /proc/sys/kernel/domainname); cut -d' ' -f1 /proc/uptime; ${nsScript}`,
      );
      expect(r.exit).toEqual({ code: 0, signal: null });
      expect(r.out).toMatch(/^pid=1$/m);
      expect(r.out).toMatch(/^host=ctr-box$/m);
      expect(r.out).toMatch(/^domain=ctr.test$/m);
      const uptime = Number(/^(\d+\.\d+)$/m.exec(r.out)?.[1]);
      expect(uptime - hostUptime).toBeGreaterThan(999_000);
      const ids = parseNs(r.out);
      for (const t of ['mnt', 'uts', 'ipc', 'net', 'cgroup', 'time']) expect(ids[t], t).not.toBe(before[t]);
      expect(ids.pid).not.toBe(before.pid_for_children);
      expect(ids.user).toBe(before.user);
      expect(mainIds()).toEqual(before);
      expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).not.toBe('ctr-box');
    });

    it('runs a prepare module on the thread: the child starts in a busybox root, the host is untouched', async () => {
      const root = join(dir, 'busybox');
      mkdirSync(root);
      makeBusyboxRootfs(root);
      // Only mounts under this test's directory: other test files mount elsewhere in parallel.
      const mountsHere = () =>
        readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .filter((l) => l.includes(dir));
      const hostMounts = mountsHere();
      const out = join(dir, 'prepare-out');
      const fd = openSync(out, 'w');
      // 'ignore' would make libuv open /dev/null in the child, inside the new root.
      const devnull = openSync('/dev/null', 'r');
      try {
        const child = await spawnFromSacrificialThread({
          plan: planNamespaces({ linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] } }),
          prepare: { module: new URL('./fixtures/enter-root.ts', import.meta.url), data: root },
          file: '/bin/sh',
          args: ['-c', 'echo pid=$$; cat /etc/hostname; ls /'],
          stdio: [devnull, fd, fd],
        });
        expect(await child.exited).toEqual({ code: 0, signal: null });
      } finally {
        closeSync(fd);
        closeSync(devnull);
      }
      const text = readFileSync(out, 'utf8');
      expect(text).toMatch(/^pid=1\nctr\n/);
      expect(text.split('\n')).toContain('bin');
      expect(mountsHere()).toEqual(hostMounts);
      expect(readFileSync('/etc/hostname', 'utf8')).not.toBe('ctr\n');
    });

    it('starts a detached child in its own session', async () => {
      const out = join(dir, 'detached-out');
      const fd = openSync(out, 'w');
      try {
        const child = await spawnFromSacrificialThread({
          plan: planNamespaces({ linux: { namespaces: [{ type: 'ipc' }] } }),
          file: BUSYBOX,
          args: ['sh', '-c', 'cut -d" " -f6 /proc/self/stat; echo $PPID'],
          stdio: ['ignore', fd, fd],
          detached: true,
        });
        child.release();
        expect(await child.exited).toEqual({ code: 0, signal: null });
        const [sid, ppid] = readFileSync(out, 'utf8').trim().split('\n').map(Number);
        // The shell's session is the child's own (its pid is the shell's parent for cut).
        expect(sid).toBe(child.pid);
        expect(ppid).toBe(process.pid);
      } finally {
        closeSync(fd);
      }
    });

    it('joins namespaces by path and refuses a path that is not a namespace of that type', async () => {
      // A holder process keeps a network and uts namespace alive.
      const holder = await spawnFromSacrificialThread({
        plan: planNamespaces({
          hostname: 'holder',
          linux: { namespaces: [{ type: 'network' }, { type: 'uts' }] },
        }),
        file: BUSYBOX,
        args: ['sleep', '30'],
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      try {
        const held = { net: namespaceId(holder.pid, 'net'), uts: namespaceId(holder.pid, 'uts') };
        const r = await runShell(
          {
            linux: {
              namespaces: [
                { type: 'network', path: `/proc/${holder.pid}/ns/net` },
                { type: 'uts', path: `/proc/${holder.pid}/ns/uts` },
              ],
            },
          },
          `hostname; ${nsScript}`,
        );
        expect(r.out).toMatch(/^holder$/m);
        expect(parseNs(r.out)).toMatchObject(held);

        const before = mainIds();
        writeFileSync(join(dir, 'fake-ns'), '');
        const notNs = await runShell(
          { linux: { namespaces: [{ type: 'network', path: join(dir, 'fake-ns') }] } },
          'true',
        ).catch((e: unknown) => e);
        expect(notNs).toBeInstanceOf(CtrError);
        expect((notNs as CtrError).message).toMatch(
          /^namespaces: join network namespace .*fake-ns: EINVAL — .* must be a net namespace file/,
        );
        const wrongType = await runShell(
          { linux: { namespaces: [{ type: 'network', path: `/proc/${holder.pid}/ns/uts` }] } },
          'true',
        ).catch((e: unknown) => e);
        expect((wrongType as CtrError).message).toMatch(/it is a uts namespace, not a net namespace/);
        expect(mainIds()).toEqual(before);
      } finally {
        process.kill(holder.pid, 'SIGKILL');
        await holder.exited;
      }
    });
  },
);

describe.runIf(
  runnable('user namespaces through unshare(1)', needsRoot(), needsCommand('unshare', 'util-linux')),
)('user namespace launch', () => {
  it('launches through unshare(1), writes the maps from the parent and releases the child', async () => {
    const before = mainIds();
    const r = await runShell(
      {
        hostname: 'userns',
        linux: {
          namespaces: ['user', 'pid', 'mount', 'uts', 'ipc'].map((type) => ({ type })) as never,
          uidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }],
          gidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }],
        },
      },
      `read -n 1 ok <&3; echo ok=$ok; echo pid=$$; cat /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups; ${nsScript}`,
    );
    expect(r.exit.code).toBe(0);
    expect(r.out).toMatch(/^ok=1$/m);
    expect(r.out).toMatch(/^pid=1$/m);
    expect(r.out).toMatch(/^\s+0\s+200000\s+65536\n\s+0\s+200000\s+65536\nallow$/m);
    const ids = parseNs(r.out);
    for (const t of ['user', 'mnt', 'uts', 'ipc']) expect(ids[t], t).not.toBe(before[t]);
    expect(ids.net).toBe(before.net);
    expect(mainIds()).toEqual(before);
  });
});
