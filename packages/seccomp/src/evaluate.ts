// A classic-BPF interpreter with the kernel's seccomp semantics (every instruction
// seccomp_check_filter accepts), so a filter — ours or libseccomp's — can be asked
// what it decides without loading it.
import { CtrError } from '@ctr/sys';
import { type SeccompVerdict, verdictOf } from './actions.ts';
import { ARCHES, archInfo, type SeccompArch } from './arch.ts';
import { BPF, SECCOMP_DATA, type SockFilter } from './bpf.ts';
import type { SeccompProgram } from './compile.ts';

export interface SeccompQuery {
  /** A syscall name (resolved on `arch`) or number. */
  syscall: string | number;
  /** The architecture of the calling task (default: the program's native one). */
  arch?: SeccompArch | string;
  /** Up to six arguments; missing ones are 0. */
  args?: readonly (number | bigint)[];
  instructionPointer?: bigint;
}

export interface SeccompDecision extends SeccompVerdict {
  nr: number;
  arch: SeccompArch;
}

/** What the program decides for one syscall (the filter run in an interpreter). */
export function evaluateSeccomp(
  program: Pick<SeccompProgram, 'instructions' | 'arch'>,
  query: SeccompQuery,
): SeccompDecision {
  const arch = archInfo(query.arch ?? program.arch);
  let nr: number;
  if (typeof query.syscall === 'number') nr = query.syscall;
  else {
    const found = Object.hasOwn(arch.syscalls, query.syscall) ? arch.syscalls[query.syscall] : undefined;
    if (found === undefined) {
      throw new CtrError({
        stage: 'seccomp',
        op: `look up syscall ${query.syscall}`,
        hint: `${arch.name} has no syscall of that name (the table comes from linux-libc-dev); pass its number instead`,
      });
    }
    nr = found;
  }
  const data = seccompData(nr, ARCHES[arch.name].auditArch, query.args ?? [], query.instructionPointer ?? 0n);
  return { ...verdictOf(runFilter(program.instructions, data)), nr, arch: arch.name };
}

/** Builds a `struct seccomp_data` as the kernel fills it (little-endian hosts). */
export function seccompData(
  nr: number,
  auditArch: number,
  args: readonly (number | bigint)[],
  ip = 0n,
): Buffer {
  const buf = Buffer.alloc(SECCOMP_DATA.SIZE);
  buf.writeUInt32LE(nr >>> 0, SECCOMP_DATA.NR);
  buf.writeUInt32LE(auditArch >>> 0, SECCOMP_DATA.ARCH);
  buf.writeBigUInt64LE(BigInt.asUintN(64, ip), SECCOMP_DATA.IP);
  for (let i = 0; i < 6; i++) {
    buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(args[i] ?? 0)), SECCOMP_DATA.ARGS + 8 * i);
  }
  return buf;
}

/** Runs a filter over a seccomp_data buffer and returns its 32-bit return value. */
export function runFilter(instructions: readonly SockFilter[], data: Buffer): number {
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(16);
  const bad = (pc: number, why: string): never => {
    throw new CtrError({ stage: 'seccomp', op: `run filter at instruction ${pc}`, hint: why });
  };
  for (let pc = 0; pc < instructions.length; pc++) {
    const { code, jt, jf, k } = instructions[pc]!;
    const cls = code & 0x07;
    switch (cls) {
      case BPF.LD:
      case BPF.LDX: {
        const mode = code & 0xe0;
        let v: number;
        if (mode === BPF.IMM) v = k;
        else if (mode === BPF.LEN) v = SECCOMP_DATA.SIZE;
        else if (mode === BPF.MEM) v = k < 16 ? mem[k]! : bad(pc, `scratch slot ${k} out of range`);
        else if (mode === BPF.ABS && cls === BPF.LD && (code & 0x18) === BPF.W) {
          if (k % 4 !== 0 || k + 4 > SECCOMP_DATA.SIZE)
            bad(pc, `load at ${k} is outside seccomp_data or unaligned`);
          v = data.readUInt32LE(k);
        } else v = bad(pc, `opcode 0x${code.toString(16)} is not allowed in seccomp filters`);
        if (cls === BPF.LD) a = v >>> 0;
        else x = v >>> 0;
        break;
      }
      case BPF.ST:
      case BPF.STX:
        if (k >= 16) bad(pc, `scratch slot ${k} out of range`);
        mem[k] = cls === BPF.ST ? a : x;
        break;
      case BPF.ALU: {
        const src = (code & 0x08) === BPF.X ? x : k >>> 0;
        a = alu(code & 0xf0, a, src, pc, bad);
        break;
      }
      case BPF.JMP: {
        const op = code & 0xf0;
        if (op === BPF.JA) {
          pc += k >>> 0;
          break;
        }
        const src = (code & 0x08) === BPF.X ? x : k >>> 0;
        const taken =
          op === BPF.JEQ
            ? a === src
            : op === BPF.JGT
              ? a > src
              : op === BPF.JGE
                ? a >= src
                : op === BPF.JSET
                  ? (a & src) !== 0
                  : bad(pc, `jump 0x${code.toString(16)}`);
        pc += taken ? jt : jf;
        break;
      }
      case BPF.RET:
        return ((code & 0x18) === BPF.A ? a : k) >>> 0;
      case BPF.MISC:
        if ((code & 0xf8) === BPF.TXA) a = x;
        else x = a;
        break;
    }
  }
  return bad(instructions.length, 'the program ends without a ret');
}

function alu(
  op: number,
  a: number,
  src: number,
  pc: number,
  bad: (pc: number, why: string) => never,
): number {
  switch (op) {
    case BPF.ADD:
      return (a + src) >>> 0;
    case BPF.SUB:
      return (a - src) >>> 0;
    case BPF.MUL:
      return Math.imul(a, src) >>> 0;
    case BPF.DIV:
      return src === 0 ? 0 : Math.floor(a / src) >>> 0;
    case BPF.MOD:
      return src === 0 ? a : (a % src) >>> 0;
    case BPF.OR:
      return (a | src) >>> 0;
    case BPF.AND:
      return (a & src) >>> 0;
    case BPF.XOR:
      return (a ^ src) >>> 0;
    case BPF.LSH:
      return src >= 32 ? 0 : (a << src) >>> 0;
    case BPF.RSH:
      return src >= 32 ? 0 : a >>> src;
    case BPF.NEG:
      return -a >>> 0;
    default:
      return bad(pc, `alu operation 0x${op.toString(16)}`);
  }
}
