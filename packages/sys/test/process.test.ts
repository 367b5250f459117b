import { spawn } from 'node:child_process';
import { closeSync, openSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, removeTmp } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLOSE_RANGE,
  close,
  closeRange,
  flock,
  gettid,
  isCloseOnExec,
  LOCK,
  PIDFD,
  pidfdExitStatus,
  pidfdOpen,
  pidfdPidNamespace,
  pidfdSendSignal,
  SysError,
  setCloseOnExec,
  setNonBlocking,
} from '../src/index.ts';

const dir = makeTmp();
afterAll(() => removeTmp(dir));

describe('fd flags', () => {
  it('sets and clears FD_CLOEXEC', () => {
    const fd = openSync(join(dir, 'f'), 'w');
    setCloseOnExec(fd, true);
    expect(isCloseOnExec(fd)).toBe(true);
    setCloseOnExec(fd, false);
    expect(isCloseOnExec(fd)).toBe(false);
    setNonBlocking(fd, true);
    setNonBlocking(fd, false);
    closeSync(fd);
  });

  it('reports EBADF for a closed fd', () => {
    expect(() => setCloseOnExec(999_999, true)).toThrow(SysError);
    expect(() => setCloseOnExec(999_999, true)).toThrow(/fcntl: EBADF/);
  });

  it('close_range CLOEXEC marks a range close-on-exec', () => {
    const a = openSync(join(dir, 'a'), 'w');
    setCloseOnExec(a, false);
    closeRange(a, a, CLOSE_RANGE.CLOEXEC);
    expect(isCloseOnExec(a)).toBe(true);
    closeSync(a);
  });
});

describe('flock', () => {
  it('excludes a second open file description and is released on close', () => {
    const path = join(dir, 'lock');
    writeFileSync(path, '');
    const a = openSync(path, 'r');
    const b = openSync(path, 'r');
    flock(a, LOCK.EX | LOCK.NB);
    expect(() => flock(b, LOCK.EX | LOCK.NB, path)).toThrow(/flock .*: EWOULDBLOCK|EAGAIN/);
    close(a);
    flock(b, LOCK.EX | LOCK.NB);
    flock(b, LOCK.UN);
    closeSync(b);
  });
});

describe('pidfd', () => {
  it('signals a live process and fails once it is gone', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    const fd = pidfdOpen(child.pid!);
    pidfdSendSignal(fd, 15);
    expect(await exited).toBe('SIGTERM');
    expect(() => pidfdSendSignal(fd, 15)).toThrow(/pidfd_send_signal: ESRCH/);
    close(fd);
    expect(() => pidfdOpen(child.pid!)).toThrow(/pidfd_open/);
  });

  it('tells how a process ended once it is reaped, whoever reaped it', async () => {
    const [major = 0, minor = 0] = (await import('node:os')).release().split('.').map(Number);
    const child = spawn('sh', ['-c', 'read _; exit 7'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const fd = pidfdOpen(child.pid!);
    expect(pidfdExitStatus(fd)).toBeUndefined(); // still running
    const exited = new Promise((r) => child.on('exit', r));
    child.stdin!.end('\n');
    await exited;
    // PIDFD_INFO_EXIT came with Linux 6.15; before it there is no answer, not a wrong one.
    expect(pidfdExitStatus(fd)).toBe(major > 6 || (major === 6 && minor >= 15) ? 7 << 8 : undefined);
    close(fd);
    const killed = spawn('sleep', ['30'], { stdio: 'ignore' });
    const kfd = pidfdOpen(killed.pid!);
    const gone = new Promise((r) => killed.on('exit', r));
    killed.kill('SIGKILL');
    await gone;
    if (major > 6 || (major === 6 && minor >= 15)) expect(pidfdExitStatus(kfd)).toBe(9);
    close(kfd);
  });

  it("opens the calling thread's pid namespaces through a thread pidfd", () => {
    const fd = pidfdOpen(gettid(), PIDFD.THREAD);
    try {
      const ns = pidfdPidNamespace(fd, 'pid');
      const forChildren = pidfdPidNamespace(fd, 'pid_for_children');
      expect(readlinkSync(`/proc/self/fd/${ns}`)).toBe(readlinkSync('/proc/thread-self/ns/pid'));
      expect(readlinkSync(`/proc/self/fd/${forChildren}`)).toBe(readlinkSync('/proc/thread-self/ns/pid'));
      close(ns);
      close(forChildren);
    } finally {
      close(fd);
    }
    const file = openSync(join(dir, 'not-a-pidfd'), 'w');
    expect(() => pidfdPidNamespace(file, 'pid')).toThrow(/ioctl PIDFD_GET_PID_NAMESPACE: (ENOTTY|EINVAL)/);
    closeSync(file);
  });
});

describe('resetSignals', () => {
  it('gives a spawned program default dispositions even when its parent ignored them', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `
      const { resetSignals } = await import(${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)});
      process.on('SIGTERM', () => {});
      resetSignals();
      process.execve('/bin/sh', ['sh', '-c', 'grep SigIgn /proc/self/status'], {});
    `;
    const out = execFileSync(process.execPath, ['--conditions=source', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('SigIgn:\t0000000000000000');
  });
});
