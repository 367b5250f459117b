// Issue 9, "Driven by real managers": Debian's podman (with conmon) and containerd (with
// its io.containerd.runc.v2 shim) run containers with ctr as their OCI runtime, exactly
// as they run runc. Each manager pulls a busybox image from a local docker-registry.
// Where ctr still lacks a runtime feature (its typed "not implemented yet" error, or a
// missing command), the test prints the gap and skips; any other failure fails.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  makeTmp,
  needsCommand,
  needsRoot,
  type RegistryServer,
  removeTmp,
  runnable,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { type Containerd, startContainerd } from './managers/containerd.ts';
import { publishBusybox } from './managers/image.ts';
import { isolatedPodman, type Podman, ULIMITS } from './managers/podman.ts';
import { type RuntimeWrapper, writeRuntimeWrapper } from './managers/runtime-wrapper.ts';
import { ok, runtimeGap, type ToolResult } from './managers/tools.ts';

/** Skips (printing why) when ctr lacks the feature the manager needed; else returns r. */
function unlessGap(ctx: TestContext, what: string, r: ToolResult, feature?: RegExp): ToolResult {
  const gap = runtimeGap(r, feature);
  if (gap !== undefined) {
    console.warn(`SKIP ${what}: ctr does not support it yet (${gap})`);
    ctx.skip();
  }
  return r;
}

const commandsOf = (runtime: RuntimeWrapper): string[] =>
  runtime.calls().map((line) => {
    // Drop runc's global flags (--root DIR, --log FILE, --log-format F, --systemd-cgroup).
    const words = line.split(' ');
    while (words[0]?.startsWith('--')) words.splice(0, words[0] === '--systemd-cgroup' ? 1 : 2);
    return words[0] ?? '';
  });

/** The memory limit of a process's cgroup, read from the host (v1 memory controller, or v2). */
function memoryLimitOf(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('memory'));
  const file = v1
    ? `/sys/fs/cgroup/memory${v1.split(':')[2]}/memory.limit_in_bytes`
    : `/sys/fs/cgroup${lines.find((l) => l.startsWith('0::'))?.slice(3)}/memory.max`;
  return Number(readFileSync(file, 'utf8').trim());
}

// The memory limit as seen from inside: on v1 ctr binds the container's own cgroup at
// /sys/fs/cgroup/memory (podman keeps the host cgroup namespace there), memory.max on v2.
const MEMORY_LIMIT =
  'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max';

describe.runIf(
  runnable(
    'podman with ctr as its runtime',
    needsRoot(),
    needsCommand('podman'),
    needsCommand('conmon'),
    needsCommand('skopeo'),
    needsCommand('script', 'util-linux'),
  ),
)('podman --runtime ctr', () => {
  let dir: string;
  let registry: RegistryServer;
  let runtime: RuntimeWrapper;
  let podman: Podman;
  let image: string;
  // No network: the container's network is podman's business (netavark/CNI), not the runtime's.
  const run = (...args: string[]) => podman.run(['run', '--network', 'none', ...ULIMITS, ...args]);

  beforeAll(async () => {
    dir = makeTmp('ctr-podman-');
    registry = await startRegistry();
    runtime = writeRuntimeWrapper(dir);
    podman = isolatedPodman(dir, runtime.path);
    const ref = await publishBusybox(registry, dir);
    ok('podman pull', await podman.run(['pull', '--tls-verify=false', ref]));
    image = ref;
  });
  afterAll(async () => {
    await podman?.reset();
    await registry?.stop();
    if (dir) removeTmp(dir);
  });

  it('runs a command to completion: create, start, delete --force', async () => {
    expect(ok('podman run', await run('--rm', image, 'echo', 'hi from ctr'))).toBe('hi from ctr\n');
    expect(commandsOf(runtime)).toEqual(expect.arrayContaining(['create', 'start', 'delete']));
    expect(runtime.calls().find((l) => l.startsWith('create'))).toMatch(/--bundle \S+ --pid-file \S+/);
  });

  it('passes the exit code of the program through conmon', async () => {
    expect((await run('--rm', image, 'sh', '-c', 'exit 7')).code).toBe(7);
  });

  it('applies --memory to the container cgroup', async () => {
    const out = ok(
      'podman run --memory',
      await run('--rm', '--memory', '64m', image, 'sh', '-c', MEMORY_LIMIT),
    );
    expect(out.trim()).toBe(String(64 * 1024 * 1024));
  });

  it('pauses, unpauses, stops and removes a detached container', async () => {
    const id = ok('podman run -d', await run('-d', '--name', 'lifecycle', image, 'sleep', '1000')).trim();
    const status = async () =>
      ok('podman inspect', await podman.run(['inspect', '--format', '{{.State.Status}}', id])).trim();
    expect(await status()).toBe('running');
    ok('podman pause', await podman.run(['pause', id]));
    expect(await status()).toBe('paused');
    ok('podman unpause', await podman.run(['unpause', id]));
    expect(await status()).toBe('running');
    // sleep as PID 1 has no SIGTERM handler, so stop escalates to SIGKILL after -t.
    ok('podman stop', await podman.run(['stop', '--time', '1', id]));
    expect(await status()).toBe('exited');
    expect(
      ok('podman inspect', await podman.run(['inspect', '--format', '{{.State.ExitCode}}', id])).trim(),
    ).toBe('137');
    ok('podman rm', await podman.run(['rm', id]));
    expect((await podman.run(['inspect', id])).code).not.toBe(0);
    expect(commandsOf(runtime)).toEqual(expect.arrayContaining(['pause', 'resume', 'kill']));
  });

  it('delivers podman kill signals', async () => {
    const id = ok('podman run -d', await run('-d', image, 'sleep', '1000')).trim();
    ok('podman kill', await podman.run(['kill', '--signal', 'KILL', id]));
    ok('podman wait', await podman.run(['wait', id]));
    expect(
      ok('podman inspect', await podman.run(['inspect', '--format', '{{.State.ExitCode}}', id])).trim(),
    ).toBe('137');
    ok('podman rm', await podman.run(['rm', id]));
    expect(runtime.calls().some((l) => /^kill \S+ 9$/.test(l))).toBe(true);
  });

  it("applies podman's process and security options: user, capabilities, hostname, env, cwd", async () => {
    const out = ok(
      'podman run',
      await run(
        '--rm',
        ...['--user', '1000:1000', '--cap-drop', 'all', '--hostname', 'h1', '-e', 'FOO=bar', '-w', '/tmp'],
        image,
        'sh',
        '-c',
        'id -u; id -g; hostname; grep -E "^(CapEff|Seccomp):" /proc/self/status; pwd; echo $FOO',
      ),
    );
    // podman's default seccomp profile is installed: Seccomp 2 is filter mode.
    expect(out.split('\n')).toEqual([
      '1000',
      '1000',
      'h1',
      'CapEff:\t0000000000000000',
      'Seccomp:\t2',
      '/tmp',
      'bar',
      '',
    ]);
  });

  it('mounts a read-only volume, adds a --device and applies --pids-limit', async () => {
    const volume = join(dir, 'volume');
    mkdirSync(volume);
    writeFileSync(join(volume, 'f'), 'from the host\n');
    const out = ok(
      'podman run',
      await run(
        '--rm',
        ...['-v', `${volume}:/data:ro`, '--device', '/dev/null:/dev/mynull', '--pids-limit', '50'],
        image,
        'sh',
        '-c',
        'cat /data/f; touch /data/g 2>/dev/null || echo data-ro; echo x > /dev/mynull && echo dev-ok; ' +
          'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max',
      ),
    );
    expect(out).toBe('from the host\ndata-ro\ndev-ok\n50\n');
    expect(existsSync(join(volume, 'g'))).toBe(false);
  });

  it('mounts --tmpfs (tmpcopyup)', async (ctx) => {
    const r = unlessGap(
      ctx,
      'podman run --tmpfs',
      await run(
        '--rm',
        '--tmpfs',
        '/scratch',
        image,
        'sh',
        '-c',
        'grep " /scratch " /proc/mounts | cut -d" " -f3',
      ),
    );
    expect(ok('podman run --tmpfs', r)).toBe('tmpfs\n');
  });

  it('runs --read-only with a writable /tmp (tmpcopyup tmpfs)', async (ctx) => {
    const r = unlessGap(
      ctx,
      'podman run --read-only',
      await run(
        '--rm',
        '--read-only',
        image,
        'sh',
        '-c',
        'touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp-rw',
      ),
    );
    expect(ok('podman run --read-only', r)).toBe('ro\ntmp-rw\n');
  });

  it('changes the memory limit of a running container with podman update', async () => {
    const id = ok('podman run -d', await run('-d', '--memory', '64m', image, 'sleep', '1000')).trim();
    try {
      ok('podman update', await podman.run(['update', '--memory', '128m', id]));
      const out = ok('podman inspect', await podman.run(['inspect', '--format', '{{.State.Pid}}', id]));
      expect(memoryLimitOf(Number(out.trim()))).toBe(128 * 1024 * 1024);
      expect(runtime.calls().some((l) => /^update --resources=\S+ /.test(l))).toBe(true);
    } finally {
      await podman.run(['rm', '--force', '--time', '0', id]);
    }
  });

  it('runs podman exec in a running container', async (ctx) => {
    const id = ok('podman run -d', await run('-d', image, 'sleep', '1000')).trim();
    try {
      const r = unlessGap(
        ctx,
        'podman exec',
        await podman.run(['exec', id, 'sh', '-c', 'echo in $HOSTNAME']),
      );
      expect(ok('podman exec', r)).toMatch(/^in /);
      expect((await podman.run(['exec', id, 'sh', '-c', 'exit 3'])).code).toBe(3);
      // -it: conmon passes --tty and --console-socket; the pty comes from the container's devpts.
      const t = await podman.runInTerminal(['exec', '-it', id, 'sh', '-c', 'tty; echo exec-tty']);
      expect(ok('podman exec -it', t)).toMatch(/\/dev\/pts\/\d+\r\nexec-tty\r\n/);
    } finally {
      await podman.run(['rm', '--force', '--time', '0', id]);
    }
  });

  it('runs podman run -it on a terminal (console socket)', async (ctx) => {
    const r = unlessGap(
      ctx,
      'podman run -it',
      await podman.runInTerminal([
        'run',
        '--rm',
        '-it',
        '--network',
        'none',
        ...ULIMITS,
        image,
        'sh',
        '-c',
        'tty; echo tty-ok',
      ]),
      /OCI runtime error: .*(terminal|console)/,
    );
    const out = ok('podman run -it', r);
    // runc answers /dev/pts/N (the pty is made in the container's devpts), ctr /dev/console.
    expect(out, JSON.stringify(r)).toMatch(/^\/dev\/(pts\/\d+|console)\r\ntty-ok\r\n/);
  });
});

describe.runIf(
  runnable(
    'containerd with ctr as its runc binary',
    needsRoot(),
    needsCommand('containerd'),
    needsCommand('containerd-shim-runc-v2', 'containerd'),
    needsCommand('skopeo'),
  ),
)('containerd io.containerd.runc.v2 shim with BinaryName = ctr', () => {
  let dir: string;
  let registry: RegistryServer;
  let runtime: RuntimeWrapper;
  let containerd: Containerd;
  let image: string;
  const runFlags = () => containerd.runtimeFlags;

  beforeAll(async () => {
    dir = makeTmp('ctr-containerd-');
    registry = await startRegistry();
    runtime = writeRuntimeWrapper(dir);
    containerd = await startContainerd(dir, runtime.path);
    image = await publishBusybox(registry, dir);
    ok('ctr images pull', await containerd.client(['images', 'pull', '--plain-http', image]));
  });
  afterAll(async () => {
    await containerd?.stop();
    await registry?.stop();
    if (dir) removeTmp(dir);
  });

  it('runs a container to completion with the shim calling ctr', async () => {
    const r = await containerd.client(['run', '--rm', ...runFlags(), image, 'once', 'echo', 'hi from ctr']);
    expect(ok('ctr run', r)).toBe('hi from ctr\n');
    const create = runtime.calls().find((l) => / create /.test(l));
    // The shim reads ctr's errors back from this JSON log.
    expect(create).toMatch(/--log \S+log\.json --log-format json create --bundle \S+ --pid-file \S+ once$/);
    expect(commandsOf(runtime)).toEqual(expect.arrayContaining(['create', 'start', 'delete']));
  });

  it('runs a task on a terminal (ctr run -t, console socket to the shim)', async (ctx) => {
    const r = unlessGap(
      ctx,
      'containerd run -t',
      await containerd.clientInTerminal([
        'run',
        '--rm',
        '-t',
        ...runFlags(),
        image,
        'tty',
        'sh',
        '-c',
        'tty; echo tty-ok',
      ]),
      /OCI runtime create failed: .*(terminal|console)/,
    );
    expect(ok('ctr run -t', r), JSON.stringify(r)).toMatch(/\/dev\/(pts\/\d+|console)\r+\ntty-ok/);
    expect(runtime.calls().some((l) => / create .*--console-socket \S+ tty$/.test(l))).toBe(true);
  });

  it("shows ctr's own error (read from --log) when create fails", async () => {
    const r = await containerd.client(['run', '--rm', ...runFlags(), image, 'broken', '/no/such/program']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/OCI runtime create failed: runtime: .*\/no\/such\/program/);
    await containerd.client(['containers', 'delete', 'broken']);
  });

  it('pauses, resumes, kills and deletes a detached task', async () => {
    ok('ctr run -d', await containerd.client(['run', '-d', ...runFlags(), image, 'web', 'sleep', '1000']));
    const status = async () => {
      const line = ok('ctr task ls', await containerd.client(['task', 'ls']))
        .split('\n')
        .find((l) => l.startsWith('web '));
      return line?.trim().split(/\s+/)[2];
    };
    try {
      expect(await status()).toBe('RUNNING');
      ok('ctr task pause', await containerd.client(['task', 'pause', 'web']));
      expect(await status()).toBe('PAUSED');
      ok('ctr task resume', await containerd.client(['task', 'resume', 'web']));
      expect(await status()).toBe('RUNNING');
      ok('ctr task kill', await containerd.client(['task', 'kill', '--signal', 'SIGKILL', 'web']));
      for (let i = 0; i < 100 && (await status()) !== 'STOPPED'; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await status()).toBe('STOPPED');
      ok('ctr task delete', await containerd.client(['task', 'delete', 'web']));
      expect(commandsOf(runtime)).toEqual(expect.arrayContaining(['pause', 'resume', 'kill', 'delete']));
    } finally {
      await containerd.client(['task', 'delete', '--force', 'web']);
      await containerd.client(['containers', 'delete', 'web']);
    }
    expect(ok('ctr containers ls', await containerd.client(['containers', 'ls', '--quiet']))).not.toContain(
      'web',
    );
  });

  it('runs ctr task exec in a running task', async (ctx) => {
    ok('ctr run -d', await containerd.client(['run', '-d', ...runFlags(), image, 'execd', 'sleep', '1000']));
    try {
      const r = unlessGap(
        ctx,
        'containerd task exec',
        await containerd.client([
          'task',
          'exec',
          '--exec-id',
          'e1',
          'execd',
          'sh',
          '-c',
          'echo in-exec; exit 3',
        ]),
      );
      expect(r.stdout).toBe('in-exec\n');
      expect(r.code).toBe(3);
    } finally {
      await containerd.client(['task', 'kill', '--signal', 'SIGKILL', 'execd']);
      await containerd.client(['task', 'delete', '--force', 'execd']);
      await containerd.client(['containers', 'delete', 'execd']);
    }
  });
});
