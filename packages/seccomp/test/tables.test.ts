// The committed syscall tables: regenerated from this host's kernel headers they are
// unchanged, and libseccomp numbers every name the same way.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsPath, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { ARCHES } from '../src/index.ts';

const root = join(import.meta.dirname, '../../..');
const tables = join(import.meta.dirname, '../src/tables');
const dir = makeTmp('ctr-seccomp-tables-');
afterAll(() => removeTmp(dir));

describe.runIf(
  runnable('syscall table generation', needsPath('/usr/include/asm-generic/unistd.h', 'linux-libc-dev')),
)('tools/gen-syscall-tables', () => {
  it('regenerates exactly the committed tables', () => {
    execFileSync(process.execPath, [join(root, 'tools/gen-syscall-tables'), '/usr/include', dir]);
    const files = readdirSync(tables).sort();
    expect(readdirSync(dir).sort()).toEqual(files);
    for (const f of files)
      expect(readFileSync(join(dir, f), 'utf8')).toBe(readFileSync(join(tables, f), 'utf8'));
  });
});

const SCRIPT = `
import json, sys, seccomp
arches = {"x86_64": seccomp.Arch.X86_64, "x86": seccomp.Arch.X86, "x32": seccomp.Arch.X32, "aarch64": seccomp.Arch.AARCH64}
names = json.load(sys.stdin)
out = {}
for arch, ns in names.items():
    out[arch] = {}
    for n in ns:
        try: out[arch][n] = seccomp.resolve_syscall(arches[arch], n)
        except Exception: out[arch][n] = None
print(json.dumps(out))`;

describe.runIf(
  runnable('syscall tables against libseccomp', needsPath('/usr/bin/python3', 'Debian python3-seccomp')),
)('the syscall tables', () => {
  it('number every syscall as libseccomp does (x86 socket and ipc calls aside)', () => {
    const names = Object.fromEntries(Object.values(ARCHES).map((a) => [a.name, Object.keys(a.syscalls)]));
    const theirs = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', SCRIPT], { input: JSON.stringify(names), encoding: 'utf8' }),
    ) as Record<string, Record<string, number | null>>;
    const differ: string[] = [];
    for (const a of Object.values(ARCHES)) {
      for (const [name, nr] of Object.entries(a.syscalls)) {
        const other = theirs[a.name]![name];
        // libseccomp routes x86's direct socket and SysV IPC calls through the
        // socketcall(102) and ipc(117) multiplexers.
        if (a.name === 'x86' && (other === 102 || other === 117)) continue;
        if (other !== nr) differ.push(`${a.name} ${name}: ${nr} vs ${other}`);
      }
    }
    expect(differ).toEqual([]);
    expect(Object.keys(ARCHES.x86_64.syscalls).length).toBeGreaterThan(350);
  });
});
