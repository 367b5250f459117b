import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { knownCapabilities, probePrivilegesHost } from '@ctr/capabilities';
import type { LinuxIdMapping, RuntimeConfig } from '@ctr/spec';
import { makeTmp, needsCommand, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { create, deleteContainer, exec, features, kill, list, run, start, state } from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-userns-');
// The container's root is host uid 100000: it must be able to reach the bundle.
chmodSync(tmp, 0o755);
const root = join(tmp, 'state');
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

const HOST_ROOT = 100000;
const map = (hostID: number): LinuxIdMapping[] => [{ containerID: 0, hostID, size: 65536 }];

/** A busybox bundle in a new user namespace mapping container 0..65535 to host 100000.. */
function usernsBundle(
  name: string,
  args: string[],
  linux: Partial<NonNullable<RuntimeConfig['linux']>> = {},
) {
  const dir = join(tmp, name);
  const bundle = makeBundle(dir, { args });
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as RuntimeConfig;
  // Writable, so the test sees who owns what the container creates.
  config.root = { path: 'rootfs', readonly: false };
  config.linux = {
    ...config.linux,
    namespaces: [...(config.linux?.namespaces ?? []), { type: 'user' }],
    uidMappings: map(HOST_ROOT),
    gidMappings: map(HOST_ROOT),
    ...linux,
  };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  // runc's rule too: the rootfs belongs to the host id the container's root maps to.
  execFileSync('chown', ['-R', '-h', `${HOST_ROOT}:${HOST_ROOT}`, join(bundle, 'rootfs')]);
  chmodSync(dir, 0o755);
  return bundle;
}

/** Runs a bundle in the foreground and returns its exit status and stdout. */
async function runOut(id: string, bundle: string) {
  const out = join(tmp, `${id}.out`);
  const fd = openSync(out, 'w');
  try {
    const status = await run({ root, id, bundle, stdio: ['ignore', fd, 'inherit'] });
    return { status, out: readFileSync(out, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

const until = async (what: () => boolean) => {
  while (!what()) await new Promise((r) => setTimeout(r, 10));
};

const capEff = (status: string) => /^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1];

describe.runIf(
  runnable('user namespaces in the init launcher', needsRoot(), needsCommand('unshare', 'util-linux')),
)('containers with a user namespace', () => {
  it('runs the program as root of the namespace, mapped to host uid 100000', async () => {
    const bundle = usernsBundle('b1', [
      'sh',
      '-c',
      'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; grep CapEff /proc/self/status; touch /tmp/made; hostname',
    ]);
    const { status, out } = await runOut('u1', bundle);
    expect(status).toBe(0);
    const lines = out.split('\n');
    expect(lines.slice(0, 2)).toEqual(['0', '0']);
    expect(out).toMatch(/^\s+0\s+100000\s+65536\n\s+0\s+100000\s+65536$/m);
    // runc's default set: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE.
    expect(capEff(out)).toBe('0000000020000420');
    const made = statSync(join(bundle, 'rootfs/tmp/made'));
    expect([made.uid, made.gid]).toEqual([HOST_ROOT, HOST_ROOT]);
    expect(lines).toContain('runc');
  });

  it('gives the namespace root the capabilities it is configured with: it can mount', async () => {
    const lastCap = probePrivilegesHost().lastCap;
    const caps = knownCapabilities(lastCap);
    const bundle = usernsBundle('b2', [
      'sh',
      '-c',
      'grep CapEff /proc/self/status; mount -t tmpfs scratch /mnt && echo > /mnt/x && echo mounted',
    ]);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as RuntimeConfig;
    config.process!.capabilities = { bounding: caps, effective: caps, permitted: caps };
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    mkdirSync(join(bundle, 'rootfs/mnt'), { recursive: true });
    execFileSync('chown', [`${HOST_ROOT}:${HOST_ROOT}`, join(bundle, 'rootfs/mnt')]);
    const { status, out } = await runOut('u2', bundle);
    expect(status).toBe(0);
    // Every capability, even one the host's bounding set lacks (CAP_SYS_RESOURCE here):
    // the namespace's creator holds them all, over the namespace's own objects only.
    expect(capEff(out)).toBe(((1n << BigInt(lastCap + 1)) - 1n).toString(16).padStart(16, '0'));
    expect(out).toMatch(/^mounted$/m);
  });

  it('shares the host network: sysfs is then the host’s, bound read-only', async () => {
    const bundle = usernsBundle('b8', ['sh', '-c', 'ls /sys/class/net; touch /sys/x || echo read-only']);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as RuntimeConfig;
    config.linux!.namespaces = config.linux!.namespaces!.filter((n) => n.type !== 'network');
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    const { status, out } = await runOut('u8', bundle);
    expect(status).toBe(0);
    expect(out.split('\n')).toEqual(expect.arrayContaining(['lo', 'read-only']));
  });

  it('state reports the init, not unshare(1): kill and delete reach it', async () => {
    const bundle = usernsBundle('b3', ['sleep', '100']);
    const { record } = await create({ root, id: 'u3', bundle, stdio: ['ignore', 'ignore', 'inherit'] });
    const pid = state({ root, id: 'u3' }).pid!;
    expect(pid).toBe(record.pid);
    expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync('/proc/self/ns/user'));
    // PID 1 of its pid namespace, in the container's cgroup.
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
    expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8')).toMatch(/^\s+0\s+100000\s+65536$/m);
    // The init, not unshare(1), is in the container's cgroup.
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(/\/u3$/m);
    await start({ root, id: 'u3' });
    expect(state({ root, id: 'u3' }).status).toBe('running');
    expect(statSync(`/proc/${pid}`).uid).toBe(HOST_ROOT);
    await kill({ root, id: 'u3', signal: 'KILL' });
    await until(() => state({ root, id: 'u3' }).status === 'stopped');
    await deleteContainer({ root, id: 'u3' });
    expect(list({ root }).map((c) => c.id)).not.toContain('u3');

    // The CLI's launcher: its own thread, which a user namespace launch leaves untouched.
    const before = readlinkSync('/proc/thread-self/ns/mnt');
    await create({
      root,
      id: 'u4',
      bundle,
      stdio: ['ignore', 'ignore', 'inherit'],
      launchOn: 'calling-thread',
    });
    expect(readlinkSync('/proc/thread-self/ns/mnt')).toBe(before);
    const pid4 = state({ root, id: 'u4' }).pid!;
    expect(readFileSync(`/proc/${pid4}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
    await start({ root, id: 'u4' });
    await deleteContainer({ root, id: 'u4', force: true });
    expect(statSync(`/proc/${pid4}`, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('reports a container killed with SIGKILL as killed, though unshare(1) cannot mirror it', async () => {
    const bundle = usernsBundle('b5', ['sleep', '100']);
    const running = run({ root, id: 'u5', bundle, stdio: ['ignore', 'ignore', 'ignore'] });
    await until(() => list({ root }).some((c) => c.id === 'u5' && c.status === 'running'));
    await kill({ root, id: 'u5', signal: 'KILL' });
    expect(await running).toBe(128 + 9);
  });

  it('execs into the container as the root of its user namespace', async () => {
    const bundle = usernsBundle('b5', ['sleep', '100']);
    const { record } = await create({ root, id: 'u5', bundle, stdio: ['ignore', 'ignore', 'inherit'] });
    await start({ root, id: 'u5' });
    const out = join(tmp, 'u5-exec.out');
    const fd = openSync(out, 'w');
    try {
      const r = await exec({
        root,
        id: 'u5',
        process: (p) => ({
          ...p,
          args: [
            'sh',
            '-c',
            'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; touch /tmp/by-exec',
          ],
        }),
        stdio: ['ignore', fd, 'inherit'],
      });
      expect(r.status).toBe(0);
    } finally {
      closeSync(fd);
    }
    const lines = readFileSync(out, 'utf8').split('\n');
    expect(lines[0]).toBe('0');
    expect(lines[1]).toMatch(/^\s+0\s+100000\s+65536$/);
    expect(lines[2]).toBe(readlinkSync(`/proc/${record.pid}/ns/user`));
    const made = statSync(join(bundle, 'rootfs/tmp/by-exec'));
    expect([made.uid, made.gid]).toEqual([HOST_ROOT, HOST_ROOT]);
    await deleteContainer({ root, id: 'u5', force: true });
  });

  it('names the JSON path of a mapping the kernel would refuse, before anything runs', async () => {
    const overlapping = usernsBundle('b6', ['true'], {
      uidMappings: [
        { containerID: 0, hostID: HOST_ROOT, size: 65536 },
        { containerID: 1000, hostID: 300000, size: 10 },
      ],
    });
    await expect(create({ root, id: 'u6', bundle: overlapping })).rejects.toThrow(
      'namespaces: validate linux.uidMappings[1] — mappings 0 and 1 overlap in the container (containerID)',
    );
    const unmapped = usernsBundle('b7', ['true'], {
      gidMappings: [{ containerID: 1, hostID: HOST_ROOT, size: 10 }],
    });
    await expect(create({ root, id: 'u7', bundle: unmapped })).rejects.toThrow(
      'runtime: process.user.gid — gid 0 is not mapped by linux.gidMappings',
    );
    expect(list({ root }).map((c) => c.id)).not.toContain('u6');
    expect(list({ root }).map((c) => c.id)).not.toContain('u7');
  });

  it('says why when the mapped root cannot reach the rootfs', async () => {
    const bundle = usernsBundle('private/b9', ['true']);
    chmodSync(join(tmp, 'private'), 0o700);
    await expect(create({ root, id: 'u9', bundle, stdio: ['ignore', 'ignore', 'ignore'] })).rejects.toThrow(
      /bind the root .*: EACCES — in a user namespace the host uid mapped to the container root must be able to search/,
    );
  });

  it('features lists the user namespace', () => {
    expect(features().linux?.namespaces).toContain('user');
  });
});
