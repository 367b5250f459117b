import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSeccomp, decodeFilter, defaultSeccompProfile } from '@ctr/seccomp';
import { makeTmp, removeTmp } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;
const tmp = makeTmp('ctr-cli-seccomp-');
afterAll(() => removeTmp(tmp));

function ctr(...args: string[]) {
  const r = spawnSync(process.execPath, ['--conditions=source', '--', bin, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const config = join(tmp, 'config.json');
writeFileSync(
  config,
  JSON.stringify({ ociVersion: '1.2.0', linux: { seccomp: defaultSeccompProfile({ arch: 'x86_64' }) } }),
);
const bare = join(tmp, 'wide.json');
// A uint64 beyond 2^53 must survive JSON parsing exactly.
writeFileSync(
  bare,
  '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["lseek","no_such_syscall"],"action":"SCMP_ACT_ERRNO","errnoRet":22,"args":[{"index":1,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}',
);

describe('ctr seccomp', () => {
  it('compile prints the program as assembly with syscall names', () => {
    const r = ctr('seccomp', 'compile', config, '--arch', 'x86_64');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^; \d+ instructions for x86_64, x86, x32; flags: none\n/);
    expect(r.stdout).toMatch(/00+ {2}ld +\[4\] +; arch\n/);
    expect(r.stdout).toMatch(/; x86_64 personality if arg0 EQ 8: ALLOW/);
    expect(r.stdout).toMatch(/ret {2}#0x80000000 +; architecture not in the profile: KILL_PROCESS\n$/);
  });

  it('compile --output writes the raw struct sock_filter array', () => {
    const out = join(tmp, 'filter.bpf');
    const r = ctr('seccomp', 'compile', config, '--arch', 'x86_64', '--output', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const expected = compileSeccomp(defaultSeccompProfile({ arch: 'x86_64' }), { arch: 'x86_64' });
    const bytes = readFileSync(out);
    expect(bytes.length).toBe(expected.instructions.length * 8);
    expect(decodeFilter(bytes)).toEqual(
      expected.instructions.map(({ code, jt, jf, k }) => ({ code, jt, jf, k })),
    );
  });

  it('check says what the filter decides', () => {
    expect(ctr('seccomp', 'check', config, 'read', '--arch', 'x86_64').stdout).toBe(
      'read (x86_64 nr 0): ALLOW\n',
    );
    expect(ctr('seccomp', 'check', config, 'mount', '--arch', 'x86_64').stdout).toBe(
      'mount (x86_64 nr 165): ERRNO(EPERM)\n',
    );
    expect(ctr('seccomp', 'check', config, 'clone3', '--arch', 'x86_64').stdout).toBe(
      'clone3 (x86_64 nr 435): ERRNO(ENOSYS)\n',
    );
    expect(ctr('seccomp', 'check', config, 'clone', '0x10000000', '--arch', 'x86_64').stdout).toMatch(
      /ERRNO\(EPERM\)/,
    );
    expect(ctr('seccomp', 'check', config, 'clone', '0x11', '--arch', 'x86_64').stdout).toMatch(/ALLOW/);
    expect(ctr('seccomp', 'check', config, 'chown32', '--arch', 'x86').stdout).toBe(
      'chown32 (x86 nr 212): ALLOW\n',
    );
  });

  it('keeps 64-bit argument values exact and reports unknown syscalls in debug output', () => {
    const r = ctr(
      '--debug',
      'seccomp',
      'check',
      bare,
      'lseek',
      '0',
      '18446744073709551615',
      '--arch',
      'x86_64',
    );
    expect(r.stdout).toBe('lseek (x86_64 nr 8): ERRNO(EINVAL)\n');
    expect(r.stderr).toMatch(/unknown syscalls skipped: no_such_syscall/);
    expect(
      ctr('seccomp', 'check', bare, 'lseek', '0', '18446744073709551614', '--arch', 'x86_64').stdout,
    ).toMatch(/ALLOW/);
  });

  it('fails with a hint on a file that is not a profile', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"process":{}}');
    const r = ctr('seccomp', 'compile', bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/seccomp: read .*bad\.json — expected a linux\.seccomp object/);
  });
});
