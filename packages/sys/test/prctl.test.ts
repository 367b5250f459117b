import { spawnSync } from 'node:child_process';
import { needsRoot, runnable } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import {
  capAmbientIsSet,
  capbsetRead,
  getDumpable,
  getKeepCaps,
  getNoNewPrivs,
  getThreadName,
} from '../src/index.ts';
import { onThread } from './thread.ts';

describe('prctl reads', () => {
  it('reports the state of the test thread', () => {
    expect(capbsetRead(0)).toBe(true);
    expect(capAmbientIsSet(0)).toBe(false);
    expect(getKeepCaps()).toBe(false);
    expect(getNoNewPrivs()).toBe(false);
    expect(getDumpable()).toBe(true);
    expect(typeof getThreadName()).toBe('string');
  });

  it('names an unknown capability with EINVAL', () => {
    expect(() => capbsetRead(200)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe.runIf(runnable('prctl on a worker thread', needsRoot()))('prctl changes', () => {
  it('drops the bounding set, sets no_new_privs, and a spawned child inherits both', async () => {
    const r = await onThread<{ bnd: boolean; nnp: boolean; status: string }>(`
      sys.capbsetDrop(13);
      sys.setNoNewPrivs();
      const status = childProcess.spawnSync('/bin/busybox', ['cat', '/proc/self/status'], { encoding: 'utf8' }).stdout;
      return { bnd: sys.capbsetRead(13), nnp: sys.getNoNewPrivs(), status };
    `);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.bnd).toBe(false);
    expect(r.value.nnp).toBe(true);
    expect(r.value.status).toMatch(/^NoNewPrivs:\t1$/m);
    const bnd = BigInt(`0x${/^CapBnd:\t(\w+)$/m.exec(r.value.status)?.[1]}`);
    expect(bnd & (1n << 13n)).toBe(0n);
    expect(capbsetRead(13)).toBe(true);
    expect(getNoNewPrivs()).toBe(false);
  });

  it('keeps caps across the uid change and raises ambient capabilities', async () => {
    const r = await onThread<{ keep: boolean; amb: boolean; status: string }>(`
      sys.setKeepCaps(true);
      const keep = sys.getKeepCaps();
      sys.setresuid(1000);
      const bit = 1n << 13n;
      sys.capset({ effective: bit, permitted: bit, inheritable: bit });
      sys.capAmbientRaise(13);
      const amb = sys.capAmbientIsSet(13);
      const status = childProcess.spawnSync('/bin/busybox', ['cat', '/proc/self/status'], { encoding: 'utf8' }).stdout;
      return { keep, amb, status };
    `);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.keep).toBe(true);
    expect(r.value.amb).toBe(true);
    expect(r.value.status).toMatch(/^CapAmb:\t0000000000002000$/m);
    expect(r.value.status).toMatch(/^CapEff:\t0000000000002000$/m);
  });

  it('refuses an ambient capability that is not inheritable (EPERM)', async () => {
    const r = await onThread('sys.capAmbientClearAll(); sys.capAmbientRaise(13);');
    expect(r).toMatchObject({ ok: false, error: { code: 'EPERM', syscall: 'prctl PR_CAP_AMBIENT_RAISE' } });
  });

  it('sets the thread name, pdeathsig and a lowered ambient capability', async () => {
    const r = await onThread(`
      sys.setThreadName('ctr-test-thread-long');
      sys.setPdeathsig(9);
      sys.capAmbientLower(13);
      return sys.getThreadName();
    `);
    expect(r).toEqual({ ok: true, value: 'ctr-test-thread' });
  });

  it('dumpable and child subreaper are process-wide, so they are checked in a child process', () => {
    const src = new URL('../src/index.ts', import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const sys = await import(${JSON.stringify(src)});
         sys.setDumpable(false); sys.setChildSubreaper(true);
         const s = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
         console.log(sys.getDumpable(), /^Uid/m.test(s));`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('false true\n');
  });
});
