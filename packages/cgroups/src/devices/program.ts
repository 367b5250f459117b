// Compiles a devices state (emulator.ts) into a BPF_PROG_TYPE_CGROUP_DEVICE
// program. The kernel calls it with struct bpf_cgroup_dev_ctx { u32 access_type
// (access << 16 | type); u32 major; u32 minor; } in r1 and allows the access when
// it returns 1. Hand-written because no library emits eBPF from JavaScript, and
// the program is small enough to read whole in its disassembly.

import type { LinuxDeviceCgroup } from '../types.ts';
import { DEV_TYPE, type DeviceState, emulateDeviceRules } from './emulator.ts';

export interface DeviceProgram {
  state: DeviceState;
  /** eBPF instructions, 8 bytes each, for bpf(2) BPF_PROG_LOAD. */
  insns: Buffer;
  /** One line per instruction, in the kernel verifier's notation, for audit. */
  disassembly: string[];
}

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const OP = {
  LDX_W: 0x61, // dst = *(u32 *)(src + off)
  AND32_K: 0x54,
  RSH32_K: 0x74,
  MOV32_X: 0xbc,
  MOV64_K: 0xb7,
  JEQ_K: 0x15,
  JNE_K: 0x55,
  EXIT: 0x95,
} as const;

const i = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

/** r2 = type, r3 = access, r4 = major, r5 = minor */
const PROLOGUE: Insn[] = [
  i(OP.LDX_W, 2, 1, 0),
  i(OP.AND32_K, 2, 0, 0, 0xffff),
  i(OP.LDX_W, 3, 1, 0),
  i(OP.RSH32_K, 3, 0, 0, 16),
  i(OP.LDX_W, 4, 1, 4),
  i(OP.LDX_W, 5, 1, 8),
];

/** A block that returns `verdict` when the exception matches and otherwise falls through to the next. */
function block(ex: DeviceState['exceptions'][number], verdict: 0 | 1): Insn[] {
  const checks: Insn[] = [i(OP.JNE_K, 2, 0, 0, DEV_TYPE[ex.type])];
  if (ex.major !== undefined) checks.push(i(OP.JNE_K, 4, 0, 0, ex.major));
  if (ex.minor !== undefined) checks.push(i(OP.JNE_K, 5, 0, 0, ex.minor));
  if (verdict === 1 && ex.access !== 7) {
    // allow only if every requested bit is granted: (access & ~granted) == 0
    checks.push(i(OP.MOV32_X, 1, 3), i(OP.AND32_K, 1, 0, 0, ~ex.access & 7), i(OP.JNE_K, 1, 0, 0, 0));
  } else if (verdict === 0 && ex.access !== 7) {
    // deny if any requested bit is denied: (access & denied) != 0
    checks.push(i(OP.MOV32_X, 1, 3), i(OP.AND32_K, 1, 0, 0, ex.access), i(OP.JEQ_K, 1, 0, 0, 0));
  }
  const out = [...checks, i(OP.MOV64_K, 0, 0, 0, verdict), i(OP.EXIT)];
  return out.map((insn, idx) =>
    insn.code === OP.JNE_K || insn.code === OP.JEQ_K ? { ...insn, off: out.length - idx - 1 } : insn,
  );
}

function encode(insns: Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((x, n) => {
    buf[n * 8] = x.code;
    buf[n * 8 + 1] = (x.src << 4) | x.dst;
    buf.writeInt16LE(x.off, n * 8 + 2);
    buf.writeInt32LE(x.imm, n * 8 + 4);
  });
  return buf;
}

function disassemble(x: Insn, n: number): string {
  const text = ((): string => {
    switch (x.code) {
      case OP.LDX_W:
        return `r${x.dst} = *(u32 *)(r${x.src} + ${x.off})`;
      case OP.AND32_K:
        return `w${x.dst} &= 0x${(x.imm >>> 0).toString(16)}`;
      case OP.RSH32_K:
        return `w${x.dst} >>= ${x.imm}`;
      case OP.MOV32_X:
        return `w${x.dst} = w${x.src}`;
      case OP.MOV64_K:
        return `r${x.dst} = ${x.imm}`;
      case OP.JEQ_K:
        return `if r${x.dst} == ${x.imm} goto pc+${x.off}`;
      case OP.JNE_K:
        return `if r${x.dst} != ${x.imm} goto pc+${x.off}`;
      case OP.EXIT:
        return 'exit';
      default:
        return `.byte 0x${x.code.toString(16)}`;
    }
  })();
  return `${String(n).padStart(3)}: ${text}`;
}

/** Compiles OCI device rules into the program cgroup v2 enforces them with. */
export function compileDeviceRules(rules: LinuxDeviceCgroup[]): DeviceProgram {
  const state = emulateDeviceRules(rules);
  const verdict = state.defaultAllow ? 0 : 1;
  const insns = [
    ...PROLOGUE,
    ...state.exceptions.flatMap((ex) => block(ex, verdict)),
    i(OP.MOV64_K, 0, 0, 0, state.defaultAllow ? 1 : 0),
    i(OP.EXIT),
  ];
  return { state, insns: encode(insns), disassembly: insns.map(disassemble) };
}
