// Turns a program with symbolic labels into sock_filter instructions. cBPF jumps
// only go forward and a conditional jump reaches at most 255 instructions: a target
// farther away is reached through an unconditional `ja` (32-bit offset) placed right
// after the jump. Expanding a jump moves everything after it, so the layout is
// recomputed until no jump needs expanding (the expansions only ever grow).
import { BPF, type SockFilter } from './bpf.ts';

/** A label name, or undefined for "the next instruction". */
type Target = string | undefined;

type Item =
  | { kind: 'label'; name: string }
  | { kind: 'stmt'; code: number; k: number; comment: string | undefined }
  | { kind: 'jump'; code: number; k: number; jt: Target; jf: Target; comment: string | undefined }
  | { kind: 'ja'; target: string; comment: string | undefined };

const MAX_JUMP = 255;

export class Assembler {
  private readonly items: Item[] = [];
  private labels = 0;

  /** A fresh label name; place it with `label`. */
  newLabel(hint = 'L'): string {
    return `${hint}${this.labels++}`;
  }

  label(name: string): void {
    this.items.push({ kind: 'label', name });
  }

  stmt(code: number, k: number, comment?: string): void {
    this.items.push({ kind: 'stmt', code, k: k >>> 0, comment });
  }

  /** A conditional jump on A against the constant k. */
  jump(op: number, k: number, jt: Target, jf: Target, comment?: string): void {
    this.items.push({ kind: 'jump', code: BPF.JMP | op | BPF.K, k: k >>> 0, jt, jf, comment });
  }

  ja(target: string, comment?: string): void {
    this.items.push({ kind: 'ja', target, comment });
  }

  ret(k: number, comment?: string): void {
    this.stmt(BPF.RET | BPF.K, k, comment);
  }

  assemble(): SockFilter[] {
    const farT = new Set<number>();
    const farF = new Set<number>();
    const size = (i: number, item: Item): number =>
      item.kind === 'label' ? 0 : item.kind === 'jump' ? 1 + Number(farT.has(i)) + Number(farF.has(i)) : 1;
    let layout = this.layout(size);
    for (;;) {
      let changed = false;
      this.items.forEach((item, i) => {
        if (item.kind !== 'jump') return;
        const pc = layout.pc[i]!;
        const next = pc + size(i, item);
        const t = item.jt === undefined ? next : layout.resolve(item.jt);
        const f = item.jf === undefined ? next : layout.resolve(item.jf);
        if (!farT.has(i) && t - pc - 1 > MAX_JUMP) {
          farT.add(i);
          changed = true;
        }
        if (!farF.has(i) && f - pc - 1 > MAX_JUMP) {
          farF.add(i);
          changed = true;
        }
      });
      if (!changed) break;
      layout = this.layout(size);
    }
    const out: SockFilter[] = [];
    const push = (code: number, jt: number, jf: number, k: number, comment: string | undefined) =>
      out.push(comment === undefined ? { code, jt, jf, k } : { code, jt, jf, k, comment });
    this.items.forEach((item, i) => {
      const pc = out.length;
      if (item.kind === 'label') return;
      if (item.kind === 'stmt') push(item.code, 0, 0, item.k, item.comment);
      else if (item.kind === 'ja')
        push(BPF.JMP | BPF.JA, 0, 0, layout.resolve(item.target) - pc - 1, item.comment);
      else {
        const next = pc + size(i, item);
        const t = item.jt === undefined ? next : layout.resolve(item.jt);
        const f = item.jf === undefined ? next : layout.resolve(item.jf);
        const ft = farT.has(i);
        const ff = farF.has(i);
        // The trampolines sit at pc+1 (for jt) and after it (for jf).
        const jt = ft ? 0 : t - pc - 1;
        const jf = ff ? (ft ? 1 : 0) : f - pc - 1;
        push(item.code, jt, jf, item.k, item.comment);
        if (ft) push(BPF.JMP | BPF.JA, 0, 0, t - (pc + 2), 'far jump');
        if (ff) push(BPF.JMP | BPF.JA, 0, 0, f - (out.length + 1), 'far jump');
      }
    });
    for (const insn of out) {
      if (insn.jt > MAX_JUMP || insn.jf > MAX_JUMP || insn.jt < 0 || insn.jf < 0) {
        throw new Error(`seccomp: internal error: jump out of range at ${out.indexOf(insn)}`);
      }
    }
    return out;
  }

  private layout(size: (i: number, item: Item) => number) {
    const pc: number[] = [];
    const labels = new Map<string, number>();
    let at = 0;
    this.items.forEach((item, i) => {
      pc.push(at);
      if (item.kind === 'label') labels.set(item.name, at);
      at += size(i, item);
    });
    return {
      pc,
      resolve(name: string): number {
        const p = labels.get(name);
        if (p === undefined) throw new Error(`seccomp: internal error: label ${name} is never placed`);
        return p;
      },
    };
  }
}
