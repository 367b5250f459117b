import { readFileSync } from 'node:fs';
import { needsRoot, runnable } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { getgroups, getresgid, getresuid, setresuid } from '../src/index.ts';
import { onThread } from './thread.ts';

describe('identity reads', () => {
  it('reads the calling thread ids and groups', () => {
    expect(getresuid().real).toBe(process.getuid?.());
    expect(getresgid().effective).toBe(process.getegid?.());
    const status = readFileSync('/proc/thread-self/status', 'utf8');
    const groups = /^Groups:\t(.*)$/m.exec(status)?.[1]?.trim() ?? '';
    expect(getgroups().join(' ')).toBe(groups);
  });
});

describe.runIf(runnable('per-thread identity changes', needsRoot()))('setresuid/setresgid/setgroups', () => {
  it('changes only the calling thread, and a child spawned from it inherits the ids', async () => {
    const r = await onThread<{ uid: unknown; gid: unknown; groups: number[]; child: string }>(`
      sys.setgroups([10, 29]);
      sys.setresgid(1000, 1000, 1000);
      sys.setresuid(1000, 1000, 1000);
      const child = childProcess.spawnSync('/bin/busybox', ['sh', '-c', 'id -u; id -g; id -G'], { encoding: 'utf8' }).stdout;
      return { uid: sys.getresuid(), gid: sys.getresgid(), groups: sys.getgroups(), child };
    `);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.uid).toEqual({ real: 1000, effective: 1000, saved: 1000 });
    expect(r.value.gid).toEqual({ real: 1000, effective: 1000, saved: 1000 });
    expect(r.value.groups).toEqual([10, 29]);
    expect(r.value.child).toBe('1000\n1000\n1000 10 29\n');
    // The test's own thread is untouched.
    expect(getresuid().effective).toBe(0);
  });

  it('-1 keeps a value', async () => {
    const r = await onThread('sys.setresuid(-1, 1234, -1); return sys.getresuid();');
    expect(r).toEqual({ ok: true, value: { real: 0, effective: 1234, saved: 0 } });
  });

  it('fails with EPERM once root is given up', async () => {
    const r = await onThread('sys.setresuid(1000); sys.setresuid(0);');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ name: 'SysError', code: 'EPERM', syscall: 'setresuid' });
    expect(() => setresuid(-1, -1, -1)).not.toThrow();
  });
});
