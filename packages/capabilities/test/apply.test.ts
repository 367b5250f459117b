import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig, type Linux, type Process } from '@ctr/spec';
import { capbsetRead } from '@ctr/sys';
import { makeTmp, needsCommand, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const fixture = new URL('./fixtures/privileged-child.ts', import.meta.url).pathname;
const tmp = makeTmp('ctr-caps-');
afterAll(() => removeTmp(tmp));

interface Result {
  warnings?: string[];
  status?: number;
  stdout?: string;
  stderr?: string;
  error?: { name: string; message: string };
}

function run(
  mode: 'thread' | 'main',
  process: Process,
  argv: string[],
  linux?: Pick<Linux, 'personality'>,
  ops?: unknown[],
): Result {
  const r = spawnSync(
    globalThis.process.execPath,
    ['--conditions=source', fixture, JSON.stringify({ mode, process, linux, argv, ops })],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (mode === 'main' && !r.stdout.startsWith('{'))
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Result;
  } catch {
    throw new Error(`fixture failed: ${r.stdout}${r.stderr}`);
  }
}

const field = (status: string, name: string) =>
  new RegExp(`^${name}:\\t(.*)$`, 'm').exec(status)?.[1]?.trim();
const STATUS = ['/bin/busybox', 'cat', '/proc/self/status'];

const caps = (names: string[]) => ({
  bounding: names,
  effective: names,
  permitted: names,
  inheritable: names,
  ambient: names,
});

describe.runIf(runnable('applying privileges', needsRoot()))('applyPrivileges', () => {
  for (const mode of ['thread', 'main'] as const) {
    it(`gives a non-root process exactly the requested sets (${mode})`, () => {
      const r = run(
        mode,
        {
          user: { uid: 1000, gid: 1000, additionalGids: [10, 29] },
          cwd: '/',
          capabilities: caps(['CAP_NET_BIND_SERVICE', 'CAP_KILL']),
          noNewPrivileges: true,
        },
        STATUS,
      );
      expect(r.error).toBeUndefined();
      const s = r.stdout ?? '';
      expect(field(s, 'Uid')).toBe('1000\t1000\t1000\t1000');
      expect(field(s, 'Gid')).toBe('1000\t1000\t1000\t1000');
      expect(field(s, 'Groups')).toBe('10 29');
      const mask = '0000000000000420'; // CAP_KILL (5) | CAP_NET_BIND_SERVICE (10)
      for (const f of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(field(s, f)).toBe(mask);
      expect(field(s, 'NoNewPrivs')).toBe('1');
    });
  }

  it('runs the runc default config as root: bounding set only, ambient skipped with a warning', () => {
    const r = run('thread', defaultRuntimeConfig().process as Process, STATUS);
    expect(r.error).toBeUndefined();
    const s = r.stdout ?? '';
    // CAP_AUDIT_WRITE (29) | CAP_KILL (5) | CAP_NET_BIND_SERVICE (10)
    expect(field(s, 'CapBnd')).toBe('0000000020000420');
    expect(field(s, 'CapEff')).toBe('0000000020000420');
    expect(field(s, 'CapAmb')).toBe('0000000000000000');
    expect(field(s, 'Groups')).toBe('');
    expect(r.warnings?.[0]).toMatch(/ambient capabilities not raised/);
  });

  it('raises the ambient capabilities it can and warns about the rest, as runc does', () => {
    const all = ['CAP_KILL', 'CAP_CHOWN'];
    const r = run(
      'thread',
      {
        user: { uid: 1000, gid: 1000 },
        cwd: '/',
        capabilities: {
          bounding: all,
          effective: all,
          permitted: all,
          inheritable: ['CAP_KILL'],
          ambient: all,
        },
      },
      STATUS,
    );
    expect(r.error).toBeUndefined();
    expect(field(r.stdout ?? '', 'CapAmb')).toBe('0000000000000020');
    expect(field(r.stdout ?? '', 'CapEff')).toBe('0000000000000020');
    expect(r.warnings).toEqual([
      'ambient capabilities not raised (an ambient capability must be permitted and inheritable): CAP_CHOWN',
    ]);
  });

  it('empty sets take away what the capabilities guard: chown, mknod, raw sockets', () => {
    const dir = join(tmp, 'guarded');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'file'), '');
    const script = `
      /bin/busybox chown 1 ${dir}/file 2>/dev/null && echo chown-ok || echo chown-denied
      /bin/busybox mknod ${dir}/null c 1 3 2>/dev/null && echo mknod-ok || echo mknod-denied
      python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)' 2>/dev/null && echo raw-ok || echo raw-denied`;
    const root: Process = { user: { uid: 0, gid: 0 }, cwd: '/' };
    const full = run('thread', { ...root, capabilities: caps(['CAP_CHOWN', 'CAP_MKNOD', 'CAP_NET_RAW']) }, [
      '/bin/sh',
      '-c',
      script,
    ]);
    const none = run('thread', { ...root, capabilities: caps([]) }, ['/bin/sh', '-c', script]);
    const withPython = needsCommand('python3') === undefined;
    expect(full.stdout).toBe(`chown-ok\nmknod-ok\n${withPython ? 'raw-ok' : 'raw-denied'}\n`);
    expect(none.stdout).toBe('chown-denied\nmknod-denied\nraw-denied\n');
  });

  it('sets rlimits, oom_score_adj, umask, personality and I/O priority', () => {
    const r = run(
      'thread',
      {
        user: { uid: 0, gid: 0, umask: 0o27 },
        cwd: '/',
        rlimits: [
          { type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 },
          { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
        ],
        oomScoreAdj: 321,
        ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 6 },
        scheduler: { policy: 'SCHED_BATCH', nice: 7 },
      },
      [
        '/bin/sh',
        '-c',
        'cat /proc/self/limits; cat /proc/self/oom_score_adj; umask; uname -m; /bin/busybox ionice -p $$; cat /proc/self/stat',
      ],
      { personality: { domain: 'LINUX32' } },
    );
    expect(r.error).toBeUndefined();
    const out = r.stdout ?? '';
    expect(out).toMatch(/^Max open files\s+512\s+1000\s+files/m);
    expect(out).toMatch(/^Max core file size\s+0\s+0\s+bytes/m);
    expect(out).toMatch(/^321$/m);
    expect(out).toMatch(/^0027$/m);
    if (process.arch === 'x64') expect(out).toMatch(/^i686$/m);
    expect(out).toMatch(/^best-effort: prio 6$/m);
    // /proc/<pid>/stat field 19 is nice.
    const stat = out.trim().split('\n').pop() ?? '';
    expect(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]).toBe('7');
  });

  it.runIf(
    runnable(
      'the CAP_SYS_RESOURCE rlimit error',
      capbsetRead(24) ? 'CAP_SYS_RESOURCE is in the bounding set here' : undefined,
    ),
  )('explains a hard rlimit that cannot be raised', () => {
    const r = run(
      'thread',
      {
        user: { uid: 0, gid: 0 },
        cwd: '/',
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 2 ** 40, hard: 2 ** 40 }],
      },
      STATUS,
    );
    expect(r.error?.name).toBe('CtrError');
    expect(r.error?.message).toMatch(
      /^capabilities: setrlimit RLIMIT_NOFILE — raising the hard limit .* needs CAP_SYS_RESOURCE/,
    );
  });

  it.runIf(
    runnable(
      'setrlimit EPERM hint',
      capbsetRead(24) ? 'CAP_SYS_RESOURCE is in the bounding set here' : undefined,
    ),
  )('explains EPERM from setrlimit when a plan skips the host check', () => {
    const hard = 2 ** 40;
    const r = run('thread', { user: { uid: 0, gid: 0 }, cwd: '/' }, STATUS, undefined, [
      { op: 'setrlimit', type: 'RLIMIT_NOFILE', soft: hard, hard },
    ]);
    expect(r.error?.message).toBe(
      'capabilities: setrlimit RLIMIT_NOFILE soft=1099511627776 hard=1099511627776: EPERM — the runtime lacks CAP_SYS_RESOURCE in its bounding set; lower process.rlimits',
    );
  });

  it('reports a failing operation with the stage and the kernel error', () => {
    const r = run('thread', { user: { uid: 0, gid: 0 }, cwd: '/', oomScoreAdj: -1000 }, STATUS);
    expect(r.error?.message).toMatch(/^capabilities: write oom_score_adj -1000/);
  });
});
