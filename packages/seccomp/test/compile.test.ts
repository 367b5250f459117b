import { CtrError } from '@ctr/sys';
import { describe, expect, it } from 'vitest';
import {
  BPF,
  BPF_MAXINSNS,
  compileSeccomp,
  defaultSeccompProfile,
  disassemble,
  evaluateSeccomp,
  type LinuxSeccomp,
  runFilter,
  SECCOMP_FILTER_FLAG,
  type SockFilter,
  seccompData,
} from '../src/index.ts';

const allowAll = (more: Partial<LinuxSeccomp> = {}): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  ...more,
});

function error(f: () => unknown): CtrError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CtrError);
    return e as CtrError;
  }
  throw new Error('expected a CtrError');
}

/** The most instructions any syscall can execute: the longest path through the DAG. */
function longestPath(program: readonly SockFilter[]): number {
  const longest = new Array<number>(program.length).fill(0);
  for (let pc = program.length - 1; pc >= 0; pc--) {
    const { code, jt, jf, k } = program[pc]!;
    const cls = code & 0x07;
    if (cls === BPF.RET) longest[pc] = 1;
    else if (cls === BPF.JMP && (code & 0xf0) === BPF.JA) longest[pc] = 1 + longest[pc + 1 + k]!;
    else if (cls === BPF.JMP) longest[pc] = 1 + Math.max(longest[pc + 1 + jt]!, longest[pc + 1 + jf]!);
    else longest[pc] = 1 + longest[pc + 1]!;
  }
  return longest[0]!;
}

describe('compileSeccomp', () => {
  it('compiles the Docker default profiles small and shallow: no linear scan', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const program = compileSeccomp(defaultSeccompProfile({ arch }), { arch });
      expect(program.instructions.length).toBeLessThan(BPF_MAXINSNS / 4);
      // ~350 allowed syscalls per ABI: a scan would take hundreds of steps.
      expect(longestPath(program.instructions)).toBeLessThan(40);
      expect(program.bytes().length).toBe(program.instructions.length * 8);
    }
  });

  it('keeps every jump forward and within 8 bits, even in long programs', () => {
    const names = ['read', 'write', 'openat', 'close', 'mmap', 'brk', 'ioctl', 'fcntl'];
    const profile: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: names.flatMap((name) =>
        Array.from({ length: 60 }, (_, i) => ({
          names: [name],
          action: 'SCMP_ACT_ALLOW' as const,
          args: [{ index: i % 6, value: i, op: 'SCMP_CMP_EQ' as const }],
        })),
      ),
    };
    const program = compileSeccomp(profile, { arch: 'x86_64' });
    for (const insn of program.instructions) {
      expect(insn.jt).toBeLessThanOrEqual(255);
      expect(insn.jf).toBeLessThanOrEqual(255);
    }
    expect(program.instructions.filter((i) => i.comment === 'far jump').length).toBeGreaterThan(0);
    expect(evaluateSeccomp(program, { syscall: 'fcntl', args: [100, 100, 100, 100, 100, 59] }).action).toBe(
      'SCMP_ACT_ALLOW',
    );
    expect(evaluateSeccomp(program, { syscall: 'fcntl', args: [100, 100, 100, 100, 100, 58] }).action).toBe(
      'SCMP_ACT_ERRNO',
    );
    expect(evaluateSeccomp(program, { syscall: 'read', args: [0, 1] }).action).toBe('SCMP_ACT_ALLOW');
  });

  it('maps every action to its kernel return value', () => {
    const profile: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      listenerPath: '/run/agent.sock',
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['write'], action: 'SCMP_ACT_LOG' },
        { names: ['open'], action: 'SCMP_ACT_TRAP' },
        { names: ['close'], action: 'SCMP_ACT_KILL' },
        { names: ['stat'], action: 'SCMP_ACT_KILL_THREAD' },
        { names: ['fstat'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['lstat'], action: 'SCMP_ACT_TRACE', errnoRet: 9 },
        { names: ['poll'], action: 'SCMP_ACT_TRACE' },
        { names: ['lseek'], action: 'SCMP_ACT_ERRNO' },
        { names: ['mmap'], action: 'SCMP_ACT_NOTIFY' },
      ],
    };
    const program = compileSeccomp(profile, { arch: 'x86_64' });
    const ret = (syscall: string) => evaluateSeccomp(program, { syscall }).ret;
    expect(ret('read')).toBe(0x7fff0000);
    expect(ret('write')).toBe(0x7ffc0000);
    expect(ret('open')).toBe(0x00030000);
    expect(ret('close')).toBe(0);
    expect(ret('stat')).toBe(0);
    expect(ret('fstat')).toBe(0x80000000);
    expect(ret('lstat')).toBe(0x7ff00009);
    expect(ret('poll')).toBe(0x7ff00001);
    expect(ret('lseek')).toBe(0x00050001);
    expect(ret('mmap')).toBe(0x7fc00000);
    expect(ret('execve')).toBe(0x00050026);
    expect(program.listener).toEqual({ path: '/run/agent.sock' });
    expect(program.flags).toBe(SECCOMP_FILTER_FLAG.NEW_LISTENER);
  });

  it('checks the architecture: unlisted ones and x32 calls on a pure x86_64 filter get the bad-arch action', () => {
    const program = compileSeccomp(allowAll(), { arch: 'x86_64' });
    expect(evaluateSeccomp(program, { syscall: 'read' }).action).toBe('SCMP_ACT_ALLOW');
    expect(evaluateSeccomp(program, { syscall: 'read', arch: 'x32' }).action).toBe('SCMP_ACT_KILL_PROCESS');
    expect(evaluateSeccomp(program, { syscall: 'read', arch: 'x86' }).action).toBe('SCMP_ACT_KILL_PROCESS');
    expect(evaluateSeccomp(program, { syscall: 'read', arch: 'aarch64' }).action).toBe(
      'SCMP_ACT_KILL_PROCESS',
    );
    const withSubs = compileSeccomp(
      allowAll({ architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_PPC64LE'] }),
      {
        arch: 'x86_64',
        badArchAction: 'SCMP_ACT_KILL_THREAD',
      },
    );
    expect(withSubs.architectures).toEqual(['x86_64', 'x86', 'x32']);
    expect(withSubs.skippedArchitectures).toEqual(['SCMP_ARCH_PPC64LE']);
    expect(evaluateSeccomp(withSubs, { syscall: 'read', arch: 'x32' }).action).toBe('SCMP_ACT_ALLOW');
    expect(evaluateSeccomp(withSubs, { syscall: 'read', arch: 'aarch64' }).action).toBe(
      'SCMP_ACT_KILL_THREAD',
    );
  });

  it('resolves names per architecture and reports names no architecture knows', () => {
    const profile: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86'],
      syscalls: [{ names: ['chown32', 'arch_prctl', 'not_a_syscall'], action: 'SCMP_ACT_ALLOW' }],
    };
    const program = compileSeccomp(profile, { arch: 'x86_64' });
    expect(program.skippedSyscalls).toEqual(['not_a_syscall']);
    expect(evaluateSeccomp(program, { syscall: 'chown32', arch: 'x86' }).action).toBe('SCMP_ACT_ALLOW');
    expect(evaluateSeccomp(program, { syscall: 'arch_prctl' }).action).toBe('SCMP_ACT_ALLOW');
    // x86's number of arch_prctl is 384; on x86_64 384 is no syscall at all.
    expect(evaluateSeccomp(program, { syscall: 384 }).action).toBe('SCMP_ACT_ERRNO');
  });

  it('tries conditional rules in order; an unconditional rule decides alone (libseccomp, runc)', () => {
    const program = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
          { names: ['kill'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 15, op: 'SCMP_CMP_LE' }] },
          { names: ['kill'], action: 'SCMP_ACT_TRACE', args: [{ index: 1, value: 10, op: 'SCMP_CMP_LE' }] },
          { names: ['tkill'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 15, op: 'SCMP_CMP_LE' }] },
          { names: ['tkill'], action: 'SCMP_ACT_ALLOW' },
          { names: ['tkill'], action: 'SCMP_ACT_TRAP' },
        ],
      },
      { arch: 'x86_64' },
    );
    const d = (syscall: string, sig: number) => evaluateSeccomp(program, { syscall, args: [1, sig] }).action;
    // The ERRNO rule has the default action and is dropped, as runc does.
    expect([d('kill', 9), d('kill', 16)]).toEqual(['SCMP_ACT_LOG', 'SCMP_ACT_ERRNO']);
    expect([d('tkill', 9), d('tkill', 16)]).toEqual(['SCMP_ACT_ALLOW', 'SCMP_ACT_ALLOW']);
    expect(disassemble(program)).not.toMatch(/TRAP/);
  });

  it('filters x86 socket and IPC calls also through socketcall(2) and ipc(2)', () => {
    const program = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 38,
        architectures: ['SCMP_ARCH_X86'],
        syscalls: [
          { names: ['recv', 'semop'], action: 'SCMP_ACT_ALLOW' },
          { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        ],
      },
      { arch: 'x86_64' },
    );
    const d = (syscall: string, ...args: number[]) =>
      evaluateSeccomp(program, { syscall, arch: 'x86', args });
    expect(program.skippedSyscalls).toEqual([]); // recv and semop exist on x86 only as multiplexed calls
    expect(d('socketcall', 10)).toMatchObject({ action: 'SCMP_ACT_ALLOW' }); // SYS_RECV
    expect(d('ipc', 1)).toMatchObject({ action: 'SCMP_ACT_ALLOW' }); // SEMOP
    expect(d('ipc', 0x10001)).toMatchObject({ action: 'SCMP_ACT_ALLOW' }); // SEMOP, ipc version 1
    expect(d('ipc', 2)).toMatchObject({ action: 'SCMP_ACT_ERRNO', data: 38 });
    // socket(AF_UNIX) is allowed directly; through socketcall its arguments are out of
    // reach, so the conditional allow does not carry over.
    expect(d('socket', 1)).toMatchObject({ action: 'SCMP_ACT_ALLOW' });
    expect(d('socketcall', 1)).toMatchObject({ action: 'SCMP_ACT_ERRNO', data: 38 });
  });

  it('splits a rule that checks one argument twice into ORed rules (runc)', () => {
    const program = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          {
            names: ['socket'],
            action: 'SCMP_ACT_ALLOW',
            args: [
              { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
              { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
            ],
          },
        ],
      },
      { arch: 'x86_64' },
    );
    const decide = (family: number) => evaluateSeccomp(program, { syscall: 'socket', args: [family] }).action;
    expect([decide(1), decide(2), decide(3)]).toEqual(['SCMP_ACT_ALLOW', 'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO']);
  });

  it('compares 64-bit values on 64-bit ABIs and the low word on 32-bit ones', () => {
    const program = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86'],
        syscalls: [
          {
            names: ['lseek', '_llseek'],
            action: 'SCMP_ACT_ERRNO',
            args: [{ index: 1, value: 0x100000005n, op: 'SCMP_CMP_GE' }],
          },
        ],
      },
      { arch: 'x86_64' },
    );
    const d = (arch: string, syscall: string, v: bigint) =>
      evaluateSeccomp(program, { syscall, arch, args: [0, v] }).action;
    expect(d('x86_64', 'lseek', 0x100000005n)).toBe('SCMP_ACT_ERRNO');
    expect(d('x86_64', 'lseek', 0x100000004n)).toBe('SCMP_ACT_ALLOW');
    expect(d('x86_64', 'lseek', 0x200000000n)).toBe('SCMP_ACT_ERRNO');
    expect(d('x86_64', 'lseek', 6n)).toBe('SCMP_ACT_ALLOW');
    expect(d('x86', '_llseek', 5n)).toBe('SCMP_ACT_ERRNO');
    expect(d('x86', '_llseek', 4n)).toBe('SCMP_ACT_ALLOW');
  });

  it('sets the filter flags the profile asks for', () => {
    const log = compileSeccomp(
      allowAll({
        flags: [
          'SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
          'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
        ],
      }),
      { arch: 'x86_64' },
    );
    expect(log.flags).toBe(SECCOMP_FILTER_FLAG.LOG | SECCOMP_FILTER_FLAG.SPEC_ALLOW);
    expect(log.skippedFlags).toEqual(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']);
    const notify = compileSeccomp(
      allowAll({
        listenerPath: '/run/a.sock',
        listenerMetadata: 'm',
        flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 'SECCOMP_FILTER_FLAG_TSYNC'],
        syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
      }),
      { arch: 'x86_64' },
    );
    expect(notify.flags).toBe(
      SECCOMP_FILTER_FLAG.NEW_LISTENER |
        SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV |
        SECCOMP_FILTER_FLAG.TSYNC |
        SECCOMP_FILTER_FLAG.TSYNC_ESRCH,
    );
    expect(notify.listener).toEqual({ path: '/run/a.sock', metadata: 'm' });
  });

  it('rejects what it cannot compile faithfully, with a hint', () => {
    const bad: [Partial<LinuxSeccomp> | LinuxSeccomp, RegExp][] = [
      [{ defaultAction: 'SCMP_ACT_BOGUS' as never }, /unknown action SCMP_ACT_BOGUS/],
      [{ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/x' }, /cannot be the default action/],
      [
        allowAll({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }),
        /needs linux.seccomp.listenerPath/,
      ],
      [
        allowAll({ listenerPath: '/x', syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }] }),
        /NOTIFY on write/,
      ],
      [
        allowAll({ syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }),
        /errnoRet is only meaningful/,
      ],
      [
        allowAll({ syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }] }),
        /between 0 and 65535/,
      ],
      [
        allowAll({
          syscalls: [
            { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] },
          ],
        }),
        /index 6/,
      ],
      [
        allowAll({
          syscalls: [
            {
              names: ['read'],
              action: 'SCMP_ACT_ERRNO',
              args: [{ index: 0, value: 0, op: 'SCMP_CMP_XX' as never }],
            },
          ],
        }),
        /unknown operator/,
      ],
      [
        allowAll({
          syscalls: [
            {
              names: ['read'],
              action: 'SCMP_ACT_ERRNO',
              args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }],
            },
          ],
        }),
        /not exact/,
      ],
      [
        allowAll({
          syscalls: [
            { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] },
          ],
        }),
        /not a uint64/,
      ],
      [allowAll({ flags: ['SECCOMP_FILTER_FLAG_BOGUS' as never] }), /unknown flag/],
    ];
    for (const [profile, hint] of bad) {
      const e = error(() => compileSeccomp(profile as LinuxSeccomp, { arch: 'x86_64' }));
      expect(e.stage).toBe('seccomp');
      expect(e.message).toMatch(hint);
    }
    expect(error(() => compileSeccomp(allowAll(), { arch: 'x86' })).message).toMatch(/x86_64 or aarch64/);
    expect(error(() => compileSeccomp(allowAll(), { arch: 'mips' })).message).toMatch(/supported: x86_64/);
  });
});

describe('runFilter (the cBPF interpreter)', () => {
  const s = (code: number, k: number, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k });
  const data = seccompData(7, 0xc000003e, [3n, 0x500000004n]);

  it('runs the ALU, scratch memory, X register and ret A', () => {
    const program = [
      s(BPF.LD | BPF.W | BPF.ABS, 16), // A = arg0 low = 3
      s(BPF.ALU | BPF.MUL | BPF.K, 5), // 15
      s(BPF.ST, 2), // M[2] = 15
      s(BPF.LDX | BPF.W | BPF.IMM, 4), // X = 4
      s(BPF.ALU | BPF.ADD | BPF.X, 0), // 19
      s(BPF.ALU | BPF.LSH | BPF.K, 1), // 38
      s(BPF.ALU | BPF.MOD | BPF.K, 10), // 8
      s(BPF.MISC | BPF.TAX, 0), // X = 8
      s(BPF.LD | BPF.MEM, 2), // A = 15
      s(BPF.ALU | BPF.SUB | BPF.X, 0), // 7
      s(BPF.JMP | BPF.JSET | BPF.K, 4, 1, 0), // 7 & 4 → skip next
      s(BPF.RET | BPF.K, 0),
      s(BPF.ALU | BPF.OR | BPF.K, 0x50000), // ERRNO(7)
      s(BPF.RET | BPF.A, 0),
    ];
    expect(runFilter(program, data)).toBe(0x50007);
  });

  it('reads the high words of 64-bit arguments and the data length', () => {
    expect(runFilter([s(BPF.LD | BPF.W | BPF.ABS, 28), s(BPF.RET | BPF.A, 0)], data)).toBe(5);
    expect(runFilter([s(BPF.LD | BPF.W | BPF.LEN, 0), s(BPF.RET | BPF.A, 0)], data)).toBe(64);
  });

  it('refuses what the kernel would refuse', () => {
    expect(() => runFilter([s(BPF.LD | BPF.W | BPF.ABS, 64), s(BPF.RET | BPF.A, 0)], data)).toThrow(
      /outside seccomp_data/,
    );
    expect(() => runFilter([s(BPF.LD | BPF.W | BPF.ABS, 0)], data)).toThrow(/without a ret/);
    expect(() => runFilter([s(BPF.LD | BPF.B | BPF.IND, 0)], data)).toThrow(/not allowed/);
  });

  it('evaluateSeccomp names an unknown syscall', () => {
    const program = compileSeccomp(allowAll(), { arch: 'x86_64' });
    expect(error(() => evaluateSeccomp(program, { syscall: 'chown32' })).message).toMatch(
      /x86_64 has no syscall of that name/,
    );
  });
});

describe('disassemble', () => {
  it('prints jump targets as line numbers and explains loads and returns', () => {
    const text = disassemble([
      { code: BPF.LD | BPF.W | BPF.ABS, jt: 0, jf: 0, k: 4 },
      { code: BPF.JMP | BPF.JEQ | BPF.K, jt: 0, jf: 1, k: 0xc000003e },
      { code: BPF.RET | BPF.K, jt: 0, jf: 0, k: 0x7fff0000 },
      { code: BPF.RET | BPF.K, jt: 0, jf: 0, k: 0x50001 },
    ]);
    expect(text).toBe(
      [
        '0  ld   [4]                             ; arch',
        '1  jeq  #0xc000003e, 2, 3',
        '2  ret  #0x7fff0000                     ; ALLOW',
        '3  ret  #0x50001                        ; ERRNO(EPERM)',
        '',
      ].join('\n'),
    );
  });
});
