import { describeVerdict, verdictOf } from './actions.ts';
import { BPF, SECCOMP_DATA, type SockFilter } from './bpf.ts';

const JUMPS: Record<number, string> = {
  [BPF.JA]: 'ja',
  [BPF.JEQ]: 'jeq',
  [BPF.JGT]: 'jgt',
  [BPF.JGE]: 'jge',
  [BPF.JSET]: 'jset',
};
const ALU: Record<number, string> = {
  [BPF.ADD]: 'add',
  [BPF.SUB]: 'sub',
  [BPF.MUL]: 'mul',
  [BPF.DIV]: 'div',
  [BPF.MOD]: 'mod',
  [BPF.OR]: 'or',
  [BPF.AND]: 'and',
  [BPF.XOR]: 'xor',
  [BPF.LSH]: 'lsh',
  [BPF.RSH]: 'rsh',
  [BPF.NEG]: 'neg',
};

/**
 * The program as readable BPF assembly, one instruction a line, jump targets as
 * absolute line numbers, with the compiler's notes (syscall names, rules) as
 * comments; a program without notes (e.g. libseccomp's) gets the obvious ones.
 */
export function disassemble(
  program: { instructions: readonly SockFilter[] } | readonly SockFilter[],
): string {
  const list = 'instructions' in program ? program.instructions : program;
  const width = String(list.length).length;
  const at = (n: number) => String(n).padStart(width, '0');
  return list
    .map((insn, pc) => {
      const [text, note] = render(insn, pc, at);
      const comment = insn.comment ?? note;
      return `${at(pc)}  ${comment ? `${text.padEnd(36)} ; ${comment}` : text}`;
    })
    .join('\n')
    .concat('\n');
}

function render(insn: SockFilter, pc: number, at: (n: number) => string): [string, string | undefined] {
  const { code, jt, jf, k } = insn;
  const hex = `#0x${(k >>> 0).toString(16)}`;
  switch (code & 0x07) {
    case BPF.LD:
    case BPF.LDX: {
      const reg = (code & 0x07) === BPF.LD ? 'ld ' : 'ldx';
      const mode = code & 0xe0;
      if (mode === BPF.ABS) return [`${reg}  [${k}]`, dataField(k)];
      if (mode === BPF.MEM) return [`${reg}  M[${k}]`, undefined];
      if (mode === BPF.LEN) return [`${reg}  #len`, undefined];
      return [`${reg}  ${hex}`, undefined];
    }
    case BPF.ST:
      return [`st   M[${k}]`, undefined];
    case BPF.STX:
      return [`stx  M[${k}]`, undefined];
    case BPF.ALU: {
      const op = ALU[code & 0xf0] ?? `alu?${code.toString(16)}`;
      return [
        (code & 0xf0) === BPF.NEG ? 'neg' : `${op.padEnd(4)} ${(code & 0x08) === BPF.X ? 'x' : hex}`,
        undefined,
      ];
    }
    case BPF.JMP: {
      const op = code & 0xf0;
      if (op === BPF.JA) return [`ja   ${at(pc + 1 + (k >>> 0))}`, undefined];
      const src = (code & 0x08) === BPF.X ? 'x' : hex;
      return [`${(JUMPS[op] ?? '?').padEnd(4)} ${src}, ${at(pc + 1 + jt)}, ${at(pc + 1 + jf)}`, undefined];
    }
    case BPF.RET:
      return (code & 0x18) === BPF.A ? ['ret  a', undefined] : [`ret  ${hex}`, describeVerdict(verdictOf(k))];
    default:
      return [(code & 0xf8) === BPF.TXA ? 'txa' : 'tax', undefined];
  }
}

function dataField(k: number): string | undefined {
  if (k === SECCOMP_DATA.NR) return 'nr';
  if (k === SECCOMP_DATA.ARCH) return 'arch';
  if (k === SECCOMP_DATA.IP) return 'instruction pointer, low word';
  if (k === SECCOMP_DATA.IP + 4) return 'instruction pointer, high word';
  if (k >= SECCOMP_DATA.ARGS && k < SECCOMP_DATA.SIZE) {
    const i = (k - SECCOMP_DATA.ARGS) >> 3;
    return `arg${i} ${(k - SECCOMP_DATA.ARGS) % 8 === 0 ? 'low' : 'high'} word`;
  }
  return undefined;
}
