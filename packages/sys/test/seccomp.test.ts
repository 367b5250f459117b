import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { SysError, seccompActionAvailable, seccompSetModeFilter } from '../src/index.ts';

const dir = makeTmp('ctr-sys-seccomp-');
afterAll(() => removeTmp(dir));

const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
const EXDEV = 18;
// mkdir and mkdirat on the two supported hosts.
const MKDIR = process.arch === 'x64' ? [83, 258] : [34, 34];

/** ld [nr]; jeq mkdir; jeq mkdirat; ret ALLOW; ret ERRNO(EXDEV) — written by hand, no compiler. */
function denyMkdirProgram(): Buffer {
  const insns: [number, number, number, number][] = [
    [0x20, 0, 0, 0],
    [0x15, 2, 0, MKDIR[0]!],
    [0x15, 1, 0, MKDIR[1]!],
    [0x06, 0, 0, SECCOMP_RET_ALLOW],
    [0x06, 0, 0, SECCOMP_RET_ERRNO | EXDEV],
  ];
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach(([code, jt, jf, k], i) => {
    buf.writeUInt16LE(code, i * 8);
    buf.writeUInt8(jt, i * 8 + 2);
    buf.writeUInt8(jf, i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}

/** Runs `install` (a statement using `sys` and `program`) in a child, then tries mkdir. */
function inChild(install: string): string {
  const src = join(import.meta.dirname, '../src/index.ts');
  const code = `
    import * as sys from ${JSON.stringify(src)};
    import { mkdirSync } from 'node:fs';
    const program = Buffer.from(${JSON.stringify(denyMkdirProgram().toString('base64'))}, 'base64');
    ${install};
    try { mkdirSync(${JSON.stringify(join(dir, 'x'))}); console.log('ok'); } catch (e) { console.log(e.code); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

describe('seccomp', () => {
  it('reports which filter actions the kernel knows', () => {
    expect(seccompActionAvailable(SECCOMP_RET_ALLOW)).toBe(true);
    expect(seccompActionAvailable(0x12340000)).toBe(false);
  });

  it('rejects an invalid program with EINVAL and installs nothing', () => {
    const bad = Buffer.alloc(8);
    bad.writeUInt16LE(0xffff, 0);
    const err = (() => {
      try {
        seccompSetModeFilter(bad, 0);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).code).toBe('EINVAL');
    expect((err as SysError).message).toMatch(/^sys: seccomp: EINVAL — /);
    expect(() => seccompSetModeFilter(Buffer.alloc(0), 0)).toThrow(RangeError);
  });

  describe.runIf(runnable('seccomp filters in a child', needsRoot()))('on a real thread', () => {
    it('seccompSetModeFilter makes the filtered syscall fail with its errno', () => {
      expect(inChild('')).toBe('ok');
      expect(inChild('sys.seccompSetModeFilter(program, 0)')).toBe('EXDEV');
    });

    it('prctlSetSeccompFilter does the same through prctl(PR_SET_SECCOMP)', () => {
      expect(inChild('sys.prctlSetSeccompFilter(program)')).toBe('EXDEV');
    });
  });
});
