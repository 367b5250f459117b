import { readFileSync } from 'node:fs';
import { needsRoot, runnable } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { CAPABILITY_NAMES, capget, capLastCap } from '../src/index.ts';
import { onThread } from './thread.ts';

const statusMask = (field: string, status = readFileSync('/proc/thread-self/status', 'utf8')): bigint =>
  BigInt(`0x${new RegExp(`^${field}:\\t([0-9a-f]+)$`, 'm').exec(status)?.[1]}`);

describe('capability reads', () => {
  it('knows every capability of this kernel', () => {
    expect(capLastCap()).toBeGreaterThanOrEqual(36);
    expect(CAPABILITY_NAMES.length).toBeGreaterThan(capLastCap());
    expect(CAPABILITY_NAMES[21]).toBe('CAP_SYS_ADMIN');
  });

  it('capget agrees with /proc/thread-self/status', () => {
    const sets = capget();
    expect(sets.effective).toBe(statusMask('CapEff'));
    expect(sets.permitted).toBe(statusMask('CapPrm'));
    expect(sets.inheritable).toBe(statusMask('CapInh'));
  });

  it('capget of a missing thread fails with ESRCH', () => {
    expect(() => capget(2 ** 30)).toThrow(expect.objectContaining({ name: 'SysError', code: 'ESRCH' }));
  });
});

describe.runIf(runnable('capset on a worker thread', needsRoot()))('capset', () => {
  it('lowers the sets of the calling thread only', async () => {
    const r = await onThread<string>(`
      sys.capset({ effective: 1n, permitted: 1n | (1n << 5n), inheritable: 1n << 5n });
      const s = sys.capget();
      return fs.readFileSync('/proc/thread-self/status', 'utf8');
    `);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(statusMask('CapEff', r.value)).toBe(1n);
    expect(statusMask('CapPrm', r.value)).toBe(0x21n);
    expect(statusMask('CapInh', r.value)).toBe(0x20n);
    expect(capget().effective).toBe(statusMask('CapEff'));
  });

  it('refuses to add a capability back to permitted (EPERM)', async () => {
    const r = await onThread(`
      sys.capset({ effective: 0n, permitted: 1n, inheritable: 0n });
      sys.capset({ effective: 0n, permitted: 3n, inheritable: 0n });
    `);
    expect(r).toMatchObject({ ok: false, error: { code: 'EPERM', syscall: 'capset' } });
  });
});
