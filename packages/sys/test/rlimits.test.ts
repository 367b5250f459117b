import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { needsRoot, runnable } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { capbsetRead, IOPRIO_CLASS, PERSONALITY, personality, prlimit, RLIMIT, SCHED } from '../src/index.ts';
import { onThread } from './thread.ts';

describe('prlimit', () => {
  it('reads the limits of this process', () => {
    const own = prlimit(0, RLIMIT.NOFILE);
    const line = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    expect(own).toEqual({ soft: BigInt(line?.[1] ?? -1), hard: BigInt(line?.[2] ?? -1) });
  });

  it('sets the limits of another process, seen in /proc/<pid>/limits', async () => {
    const child = spawn('/bin/busybox', ['sleep', '30'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      prlimit(pid, RLIMIT.NOFILE, { soft: 100n, hard: 200n });
      prlimit(pid, RLIMIT.CORE, { soft: 0n, hard: 0n });
      const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
      expect(limits).toMatch(/^Max open files\s+100\s+200\s+files/m);
      expect(limits).toMatch(/^Max core file size\s+0\s+0\s+bytes/m);
      expect(prlimit(pid, RLIMIT.NOFILE)).toEqual({ soft: 100n, hard: 200n });
      expect(() => prlimit(pid, RLIMIT.NOFILE, { soft: 300n, hard: 200n })).toThrow(
        expect.objectContaining({ code: 'EINVAL' }),
      );
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.runIf(
    runnable(
      'raising a hard limit without CAP_SYS_RESOURCE',
      needsRoot(),
      capbsetRead(24) ? 'CAP_SYS_RESOURCE is in the bounding set here' : undefined,
    ),
  )('raising a hard limit without CAP_SYS_RESOURCE fails with EPERM and a hint', async () => {
    const child = spawn('/bin/busybox', ['sleep', '30'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      const { hard } = prlimit(pid, RLIMIT.NOFILE);
      let err: unknown;
      try {
        prlimit(pid, RLIMIT.NOFILE, { soft: hard + 1n, hard: hard + 1n });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ name: 'SysError', code: 'EPERM' });
      expect((err as Error).message).toMatch(/CAP_SYS_RESOURCE/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('umask', () => {
  it('is process-wide, so it is set in a child process', () => {
    const src = new URL('../src/index.ts', import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const sys = await import(${JSON.stringify(src)});
         const before = sys.umask(0o27); const after = sys.umask(0o27);
         const s = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
         console.log(after.toString(8), /^Umask:\\t(\\d+)$/m.exec(s)[1], typeof before);`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('27 0027 number\n');
  });
});

describe.runIf(runnable('thread attributes on a worker', needsRoot()))(
  'personality, ioprio, scheduler',
  () => {
    it('queries the personality without changing it', () => {
      expect(personality(PERSONALITY.QUERY) & 0xff).toBe(PERSONALITY.LINUX);
    });

    it('sets personality, I/O priority and policy on a thread, inherited by a child', async () => {
      const r = await onThread<{ persona: number; sched: number; ionice: string; personalityOut: string }>(`
      sys.personality(${PERSONALITY.LINUX32});
      sys.ioprioSet(${IOPRIO_CLASS.BE}, 6);
      sys.schedSetattr({ policy: ${SCHED.BATCH}, nice: 5 });
      const ionice = childProcess.spawnSync('/bin/busybox', ['ionice', '-p', '0'], { encoding: 'utf8' });
      const uname = childProcess.spawnSync('/bin/busybox', ['uname', '-m'], { encoding: 'utf8' }).stdout;
      return {
        persona: sys.personality(${PERSONALITY.QUERY}),
        sched: sys.schedGetScheduler(),
        ionice: ionice.stdout + ionice.stderr,
        personalityOut: uname,
      };
    `);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.persona & 0xff).toBe(PERSONALITY.LINUX32);
      expect(r.value.sched).toBe(SCHED.BATCH);
      if (process.arch === 'x64') expect(r.value.personalityOut.trim()).toBe('i686');
    });

    it('rejects an unknown I/O class with EINVAL', async () => {
      const r = await onThread(`sys.ioprioSet(7, 0);`);
      expect(r).toMatchObject({ ok: false, error: { code: 'EINVAL', syscall: 'ioprio_set' } });
    });
  },
);
