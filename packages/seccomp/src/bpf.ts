// Classic BPF as seccomp uses it (linux/filter.h, linux/bpf_common.h, linux/seccomp.h).

/** One `struct sock_filter`: 16-bit opcode, two 8-bit jump offsets, 32-bit constant. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
  /** Why the instruction is there (syscall names, rule), for the disassembly. */
  comment?: string;
}

export const BPF = {
  // classes
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // ld/ldx sizes and modes
  W: 0x00,
  H: 0x08,
  B: 0x10,
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  // alu / jmp operations
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // sources
  K: 0x00,
  X: 0x08,
  A: 0x10,
  // misc
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** The kernel refuses filters longer than this (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** Return values of a seccomp filter (the action is the high 16 bits). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  ACTION_FULL: 0xffff0000,
  DATA: 0x0000ffff,
} as const;

/** Offsets in `struct seccomp_data` { int nr; u32 arch; u64 ip; u64 args[6]; }. */
export const SECCOMP_DATA = {
  NR: 0,
  ARCH: 4,
  IP: 8,
  ARGS: 16,
  SIZE: 64,
} as const;

export const stmt = (code: number, k: number, comment?: string): SockFilter =>
  comment === undefined ? { code, jt: 0, jf: 0, k } : { code, jt: 0, jf: 0, k, comment };

/** The raw program: 8 bytes per instruction in host byte order, as the kernel reads it. */
export function encodeFilter(instructions: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(instructions.length * 8);
  const le = isLittleEndian();
  instructions.forEach((insn, i) => {
    const o = i * 8;
    if (le) buf.writeUInt16LE(insn.code, o);
    else buf.writeUInt16BE(insn.code, o);
    buf.writeUInt8(insn.jt, o + 2);
    buf.writeUInt8(insn.jf, o + 3);
    if (le) buf.writeUInt32LE(insn.k >>> 0, o + 4);
    else buf.writeUInt32BE(insn.k >>> 0, o + 4);
  });
  return buf;
}

/** Parses a raw `struct sock_filter` array (host byte order), e.g. libseccomp's export. */
export function decodeFilter(bytes: Uint8Array): SockFilter[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length % 8 !== 0) throw new RangeError(`a BPF program is a multiple of 8 bytes, not ${buf.length}`);
  const le = isLittleEndian();
  const out: SockFilter[] = [];
  for (let o = 0; o < buf.length; o += 8) {
    out.push({
      code: le ? buf.readUInt16LE(o) : buf.readUInt16BE(o),
      jt: buf.readUInt8(o + 2),
      jf: buf.readUInt8(o + 3),
      k: le ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o + 4),
    });
  }
  return out;
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
