// The compiler against an independent oracle: libseccomp (Debian python3-seccomp)
// builds the same profile, and both programs run in the same cBPF interpreter for
// every syscall of every table and a spread of argument values.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsPath, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ARCHES,
  BPF_MAXINSNS,
  compileSeccomp,
  decodeFilter,
  defaultSeccompProfile,
  type LinuxSeccomp,
  runFilter,
  type SeccompArch,
  type SeccompProgram,
  type SockFilter,
  seccompData,
} from '../src/index.ts';

const PYTHON = '/usr/bin/python3';
const HELPER = join(import.meta.dirname, 'helpers/libseccomp-oracle.py');
const dir = makeTmp('ctr-seccomp-oracle-');
afterAll(() => removeTmp(dir));

function hasLibseccomp(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import seccomp'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'python3-seccomp is not installed (Debian package python3-seccomp)';
  }
}

let n = 0;
function libseccomp(profile: LinuxSeccomp, native: SeccompArch): SockFilter[] {
  const json = join(dir, `profile-${n}.json`);
  const bpf = join(dir, `profile-${n++}.bpf`);
  writeFileSync(
    json,
    JSON.stringify(profile, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)),
  );
  execFileSync(PYTHON, [HELPER, json, native, bpf]);
  return decodeFilter(readFileSync(bpf));
}

const WIDE = [
  0n,
  1n,
  2n,
  7n,
  8n,
  9n,
  0x7fffffffn,
  0x80000000n,
  0xfffffffen,
  0xffffffffn,
  1n << 32n,
  (1n << 32n) + 8n,
  0x100000005n,
  1n << 40n,
  1n << 63n,
  (1n << 64n) - 1n,
];

const ENOSYS = 0x50026;

/** Every (arch, nr, args) case where the two programs disagree, at most `limit`. */
function disagreements(program: SeccompProgram, theirs: SockFilter[], limit = 20): string[] {
  const out: string[] = [];
  const arches = program.architectures;
  const check = (arch: SeccompArch, auditArch: number, nr: number, args: bigint[]) => {
    const data = seccompData(nr, auditArch, args);
    const a = runFilter(program.instructions, data);
    const b = runFilter(theirs, data);
    // Above the highest syscall the profile names, ctr answers ENOSYS as runc does
    // (runc patches libseccomp's program for that; libseccomp alone does not).
    const abi = arch === 'x86_64' || arch === 'x32' ? (nr >= 0x40000000 ? 'x32' : 'x86_64') : arch;
    const above = auditArch === ARCHES[abi].auditArch ? program.enosysAbove[abi] : undefined;
    if (above !== undefined && nr > above && a === ENOSYS) return;
    if (a !== b && out.length < limit) {
      out.push(
        `${arch} nr ${nr} args ${args.join(',')}: ctr 0x${a.toString(16)} libseccomp 0x${b.toString(16)}`,
      );
    }
  };
  for (const arch of arches) {
    const info = ARCHES[arch];
    const numbers = Object.values(info.syscalls);
    const base = arch === 'x32' ? 0x40000000 : 0;
    numbers.push(base + 1000, base + 0x3ffff, 0x3fffffff, 0x40000000, 0x7fffffff, 0xffffffff);
    for (const nr of numbers) {
      for (const v of WIDE) {
        check(arch, info.auditArch, nr, [v, v, v, v, v, v]);
        for (let i = 0; i < 3; i++)
          check(
            arch,
            info.auditArch,
            nr,
            Array.from({ length: 6 }, (_, j) => (j === i ? v : 0n)),
          );
      }
    }
  }
  // An architecture the profile does not list (AUDIT_ARCH_ARM, AUDIT_ARCH_PPC64LE).
  for (const auditArch of [0x40000028, 0xc0000015]) check('x86_64', auditArch, 0, []);
  return out;
}

/** One condition per operator on argument `index`; `wide` datums use the high word. */
const ALL_ARGS = (index: number, wide = true) =>
  [
    { index, value: 8, op: 'SCMP_CMP_EQ' },
    { index, value: wide ? 0x100000005n : 5, op: 'SCMP_CMP_NE' },
    { index, value: 0x80000000, op: 'SCMP_CMP_LT' },
    { index, value: wide ? 1n << 40n : 9, op: 'SCMP_CMP_LE' },
    { index, value: 7, op: 'SCMP_CMP_GE' },
    { index, value: wide ? 0x100000005n : 0xfffffffe, op: 'SCMP_CMP_GT' },
    wide
      ? { index, value: 0xff00000000n + 0xf0n, valueTwo: 0x2000000000n + 0x80n, op: 'SCMP_CMP_MASKED_EQ' }
      : { index, value: 0xf0, valueTwo: 0x80, op: 'SCMP_CMP_MASKED_EQ' },
  ] as const;

/** Every operator, ANDed args, ORed rules and every action, for the given architectures. */
const everything = (architectures: string[], wide: boolean): LinuxSeccomp =>
  ({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures,
    syscalls: [
      ...ALL_ARGS(0, wide).map((a, i) => ({
        names: [['read', 'write', 'openat', 'close', 'mmap', 'mprotect', 'brk'][i]!],
        action: 'SCMP_ACT_ERRNO' as const,
        errnoRet: 18,
        args: [{ ...a }],
      })),
      {
        names: ['mkdirat'],
        action: 'SCMP_ACT_TRACE',
        errnoRet: 7,
        args: [ALL_ARGS(0, wide)[4], ALL_ARGS(1, wide)[2], ALL_ARGS(2, wide)[6]],
      },
      { names: ['mkdirat'], action: 'SCMP_ACT_TRACE', errnoRet: 7, args: [ALL_ARGS(3, wide)[0]] },
      { names: ['unshare', 'setns'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['kexec_load'], action: 'SCMP_ACT_KILL' },
      { names: ['reboot'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['ptrace'], action: 'SCMP_ACT_TRAP', args: [{ index: 0, value: 16, op: 'SCMP_CMP_GE' }] },
      { names: ['uname'], action: 'SCMP_ACT_LOG' },
      { names: ['chown32', 'arch_prctl', 'no_such_call'], action: 'SCMP_ACT_ERRNO', errnoRet: 95 },
      { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
    ],
  }) as LinuxSeccomp;

const handmade: Record<string, LinuxSeccomp> = {
  'every operator on 64-bit values (x86_64 alone)': everything([], true),
  'every operator on 32-bit values (x86_64, x86, x32)': everything(['SCMP_ARCH_X86', 'SCMP_ARCH_X32'], false),
  'every operator on 64-bit values (x86_64, x86, x32)': everything(['SCMP_ARCH_X86', 'SCMP_ARCH_X32'], true),
  'x86_64 and x32 without x86': everything(['SCMP_ARCH_X32'], true),
  'x86 socket and IPC calls through socketcall(2) and ipc(2)': {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86'],
    syscalls: [
      { names: ['socket', 'bind'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
      {
        names: ['connect'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 2,
        args: [{ index: 0, value: 3, op: 'SCMP_CMP_EQ' }],
      },
      { names: ['semop', 'shmat', 'msgrcv'], action: 'SCMP_ACT_ERRNO', errnoRet: 3 },
      { names: ['sendmsg'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['kill'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 15, op: 'SCMP_CMP_LE' }] },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 4 },
      { names: ['tkill'], action: 'SCMP_ACT_TRAP' },
      { names: ['tkill'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 15, op: 'SCMP_CMP_LE' }] },
    ],
  },
  'one argument checked twice becomes two ORed rules (runc)': {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      {
        names: ['personality', 'socket'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
          { index: 0, value: 10, op: 'SCMP_CMP_EQ' },
        ],
      },
    ],
  },
};

/** Long enough that jumps cross the 255-instruction limit of cBPF many times. */
function longProfile(): LinuxSeccomp {
  const names = Object.keys(ARCHES.x86_64.syscalls).slice(0, 220);
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    syscalls: names.map((name, i) => ({
      names: [name],
      action: i % 3 === 0 ? 'SCMP_ACT_ALLOW' : 'SCMP_ACT_LOG',
      args: [ALL_ARGS(i % 6)[i % 7]!, ALL_ARGS((i + 1) % 6)[(i + 3) % 7]!],
    })),
  } as LinuxSeccomp;
}

describe.runIf(runnable('seccomp oracle (libseccomp)', hasLibseccomp(), needsPath(PYTHON, 'Debian python3')))(
  'compileSeccomp agrees with libseccomp',
  () => {
    for (const native of ['x86_64', 'aarch64'] as const) {
      for (const caps of [undefined, ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_BOOT']]) {
        it(`on the Docker default profile for ${native}${caps ? ' with CAP_SYS_ADMIN' : ''}`, () => {
          const profile = defaultSeccompProfile({ arch: native, ...(caps ? { capabilities: caps } : {}) });
          const ours = compileSeccomp(profile, { arch: native });
          expect(ours.instructions.length).toBeLessThan(BPF_MAXINSNS);
          expect(disagreements(ours, libseccomp(profile, native))).toEqual([]);
        });
      }
    }

    for (const [name, profile] of Object.entries(handmade)) {
      it(`on a handmade profile: ${name}`, () => {
        const ours = compileSeccomp(profile, { arch: 'x86_64' });
        expect(disagreements(ours, libseccomp(profile, 'x86_64'))).toEqual([]);
      });
    }

    it('on a profile long enough to need far jumps', () => {
      const profile = longProfile();
      const ours = compileSeccomp(profile, { arch: 'x86_64' });
      expect(ours.instructions.some((i) => i.comment === 'far jump')).toBe(true);
      expect(disagreements(ours, libseccomp(profile, 'x86_64'))).toEqual([]);
    });
  },
);
