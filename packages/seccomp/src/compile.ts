// OCI `linux.seccomp` → classic BPF. The layout, per architecture the profile names:
//
//   ld [arch]; jeq AUDIT_ARCH_…        (native first, then the listed ones; else bad-arch action)
//   ld [nr];   binary search over ranges of syscall numbers that share one verdict
//   leaf:      ret ACTION, or the rules of one syscall: argument checks, first match wins,
//              then the default action
//
// A lookup costs about log2(ranges) jumps instead of a scan over every syscall, and
// the Docker default profile stays far below the kernel's 4096-instruction limit.
import { CtrError } from '@ctr/sys';
import { actionValue, describeVerdict, verdictOf } from './actions.ts';
import {
  ARCHES,
  type ArchInfo,
  archInfo,
  findArch,
  nativeArch,
  type SeccompArch,
  syscallsInRange,
  X32_SYSCALL_BIT,
} from './arch.ts';
import { Assembler } from './assemble.ts';
import { BPF, BPF_MAXINSNS, encodeFilter, SECCOMP_DATA, SECCOMP_RET, type SockFilter } from './bpf.ts';
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFlag, LinuxSeccompOperator } from './types.ts';

/** seccomp(2) SECCOMP_FILTER_FLAG_* bits. */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

export interface CompileOptions {
  /** The architecture the filter is native to (default: the host's). */
  arch?: SeccompArch | string;
  /** What a syscall from an architecture the profile does not list gets. */
  badArchAction?: LinuxSeccompAction;
  /**
   * Answer ENOSYS for syscall numbers above the highest one the profile names
   * (default true, as runc does), unless the default action already lets calls through.
   */
  enosysForNewer?: boolean;
}

export interface SeccompListener {
  /** The unix socket the listener fd is sent to (runtime-spec listenerPath). */
  path: string;
  /** Opaque data passed along with the fd (listenerMetadata). */
  metadata?: string;
}

/** A compiled filter: plain data, printable, loadable. */
export interface SeccompProgram {
  arch: SeccompArch;
  /** Every architecture the filter accepts, native first. */
  architectures: SeccompArch[];
  instructions: SockFilter[];
  /** The raw `struct sock_filter` array the kernel loads. */
  bytes(): Buffer;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2). */
  flags: number;
  flagNames: string[];
  /** Set when the profile uses SCMP_ACT_NOTIFY: where the listener fd goes. */
  listener: SeccompListener | undefined;
  /** Return value for syscalls no rule matches. */
  defaultAction: number;
  /** Names no selected architecture knows (typos, or newer than the tables): skipped as runc does. */
  skippedSyscalls: string[];
  /** Listed architectures ctr has no table for: their syscalls get the bad-arch action. */
  skippedArchitectures: string[];
  /** Flags that do not apply (WAIT_KILLABLE_RECV without a listener). */
  skippedFlags: string[];
  /** Per architecture, the number above which every syscall gets ERRNO(ENOSYS). */
  enosysAbove: Partial<Record<SeccompArch, number>>;
}

interface Cond {
  index: number;
  op: LinuxSeccompOperator;
  value: bigint;
  valueTwo: bigint;
}

interface Rule {
  conds: Cond[];
  ret: number;
}

type Leaf = { kind: 'ret'; ret: number } | { kind: 'rules'; nr: number; rules: Rule[] };

interface Range {
  lo: number;
  hi: number;
  leaf: Leaf;
}

const U64_MAX = (1n << 64n) - 1n;
const OPERATORS: readonly LinuxSeccompOperator[] = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
];
const FLAGS: Record<LinuxSeccompFlag, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};
// Between installing the filter and execve the init process itself opens a socket,
// connects and sends the listener fd, then reports over its sync pipe: a NOTIFY on
// one of these would park the init on a listener nobody reads yet. (runc refuses
// NOTIFY on write(2) for the same reason.)
const NOTIFY_FORBIDDEN = new Set(['write', 'socket', 'connect', 'sendmsg']);

const fail = (op: string, hint: string): never => {
  throw new CtrError({ stage: 'seccomp', op, hint });
};

/** Compiles an OCI seccomp profile for the native architecture and those it lists. */
export function compileSeccomp(profile: LinuxSeccomp, options: CompileOptions = {}): SeccompProgram {
  const native = archInfo(options.arch ?? nativeArch());
  if (native.name === 'x32' || native.name === 'x86') {
    fail(
      `compile for ${native.name}`,
      'ctr runs as a 64-bit process: the native architecture is x86_64 or aarch64',
    );
  }
  const defaultRet = actionValue(profile.defaultAction, profile.defaultErrnoRet, 'defaultAction');
  if (profile.defaultAction === 'SCMP_ACT_NOTIFY') {
    fail(
      'compile defaultAction',
      'SCMP_ACT_NOTIFY cannot be the default action: the runtime itself would block on it',
    );
  }
  const badArchRet = actionValue(
    options.badArchAction ?? 'SCMP_ACT_KILL_PROCESS',
    undefined,
    'badArchAction',
  );

  const architectures: ArchInfo[] = [native];
  const skippedArchitectures: string[] = [];
  for (const name of profile.architectures ?? []) {
    const info = findArch(name);
    if (!info) skippedArchitectures.push(name);
    else if (!architectures.includes(info)) architectures.push(info);
  }

  let notify = false;
  const mentioned = new Set<string>();
  const rulesByArch = new Map<SeccompArch, Map<number, Rule[]>>(
    architectures.map((a) => [a.name, new Map()]),
  );
  (profile.syscalls ?? []).forEach((entry, i) => {
    const where = `syscalls[${i}]`;
    const ret = actionValue(entry.action, entry.errnoRet, where);
    if (entry.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      for (const name of entry.names) {
        if (NOTIFY_FORBIDDEN.has(name)) {
          fail(
            `compile ${where}`,
            `SCMP_ACT_NOTIFY on ${name} would block the container's init before it can hand over the listener`,
          );
        }
      }
    }
    const conds = (entry.args ?? []).map((a, j) => condition(a, `${where}.args[${j}]`));
    // A rule that repeats an argument index is split into one rule per condition
    // (ORed), as runc does: libseccomp cannot AND two checks of one argument.
    const perIndex = new Set(conds.map((c) => c.index));
    const rules: Rule[] =
      perIndex.size < conds.length ? conds.map((c) => ({ conds: [c], ret })) : [{ conds, ret }];
    // runc drops rules whose action is the default one: they cannot change a verdict.
    if (ret === defaultRet) {
      for (const name of entry.names) mentioned.add(name);
      return;
    }
    for (const name of entry.names) {
      mentioned.add(name);
      for (const arch of architectures) {
        const byNr = rulesByArch.get(arch.name)!;
        const nr = Object.hasOwn(arch.syscalls, name) ? arch.syscalls[name] : undefined;
        if (nr !== undefined) appendRules(byNr, nr, rules);
        const via =
          arch.multiplexed && Object.hasOwn(arch.multiplexed, name) ? arch.multiplexed[name] : undefined;
        const muxNr = via && Object.hasOwn(arch.syscalls, via[0]) ? arch.syscalls[via[0]] : undefined;
        if (via === undefined || muxNr === undefined) continue;
        // The multiplexer's other arguments point to memory seccomp cannot read, so
        // only the call number is checked. An unconditional rule, or one that denies,
        // carries over as is (libseccomp does the same); a conditional rule that lets
        // calls through does not, or the multiplexer would bypass its conditions.
        const lets = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(entry.action);
        if (conds.length > 0 && lets) continue;
        appendRules(byNr, muxNr, [{ conds: [multiplexedCall(via[0], via[1])], ret }]);
      }
    }
  });
  const skippedSyscalls = [...mentioned]
    .filter(
      (n) =>
        !architectures.some((a) => Object.hasOwn(a.syscalls, n) || Object.hasOwn(a.multiplexed ?? {}, n)),
    )
    .sort();

  // A syscall newer than the profile is one its author could not have meant to deny:
  // libc probes new calls (clone3, fchmodat2, …) and falls back only on ENOSYS, so
  // EPERM there breaks programs. runc answers ENOSYS above the highest number the
  // profile names on each architecture; so does ctr. Allowing defaults need nothing.
  const enosysAbove: Partial<Record<SeccompArch, number>> = {};
  const permissive = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction);
  if ((options.enosysForNewer ?? true) && !permissive) {
    for (const arch of architectures) {
      let highest: number | undefined;
      for (const name of mentioned) {
        const nr = Object.hasOwn(arch.syscalls, name) ? arch.syscalls[name]! : undefined;
        if (nr !== undefined && (highest === undefined || nr > highest)) highest = nr;
      }
      if (highest !== undefined) enosysAbove[arch.name] = highest;
    }
  }
  const tree = (arch: ArchInfo) => ranges(rulesByArch.get(arch.name)!, defaultRet, enosysAbove[arch.name]);

  if (notify && !profile.listenerPath) {
    fail(
      'compile listenerPath',
      'SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath: the socket the listener fd is sent to',
    );
  }
  let flags = notify ? SECCOMP_FILTER_FLAG.NEW_LISTENER : 0;
  const flagNames: string[] = notify ? ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] : [];
  const skippedFlags: string[] = [];
  for (const name of profile.flags ?? []) {
    const bit = (FLAGS as Record<string, number>)[name];
    if (bit === undefined)
      fail(`compile flags`, `unknown flag ${name}; known: ${Object.keys(FLAGS).join(', ')}`);
    else if (bit === SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV && !notify) skippedFlags.push(name);
    else if ((flags & bit) === 0) {
      flags |= bit;
      flagNames.push(name);
    }
  }
  // TSYNC reports a conflicting thread as a thread id, which collides with the
  // listener fd that NEW_LISTENER returns; TSYNC_ESRCH makes it an ESRCH error.
  if (flags & SECCOMP_FILTER_FLAG.TSYNC && notify) {
    flags |= SECCOMP_FILTER_FLAG.TSYNC_ESRCH;
    flagNames.push('SECCOMP_FILTER_FLAG_TSYNC_ESRCH');
  }

  const asm = new Assembler();
  const badArch = asm.newLabel('badarch');
  asm.stmt(BPF.LD | BPF.W | BPF.ABS, SECCOMP_DATA.ARCH, 'arch');
  const groups = new Map<number, ArchInfo[]>();
  for (const a of architectures) groups.set(a.auditArch, [...(groups.get(a.auditArch) ?? []), a]);
  for (const [auditArch, members] of groups) {
    const nextArch = asm.newLabel('arch');
    asm.jump(BPF.JEQ, auditArch, undefined, nextArch, members.map((m) => m.name).join(' + '));
    asm.stmt(BPF.LD | BPF.W | BPF.ABS, SECCOMP_DATA.NR, 'nr');
    const wide = members.find((m) => m.name !== 'x32');
    const x32 = members.find((m) => m.name === 'x32');
    if (x32 || auditArch === ARCHES.x86_64.auditArch) {
      // One AUDIT_ARCH for two ABIs: the x32 bit in nr says which table applies.
      const x32Label = asm.newLabel('x32');
      asm.jump(BPF.JGE, X32_SYSCALL_BIT, x32Label, wide ? undefined : badArch, 'x32 syscall bit');
      if (wide) emitTree(asm, wide, tree(wide), defaultRet);
      asm.label(x32Label);
      if (x32) emitTree(asm, x32, tree(x32), defaultRet);
      else {
        // nr -1 is what a tracer sets to skip a syscall; libseccomp lets it reach the
        // default action instead of the bad-arch one, and so does ctr.
        asm.jump(BPF.JEQ, 0xffffffff, undefined, badArch, 'nr -1 (skipped by a tracer)');
        asm.ret(defaultRet, `nr -1: ${describeVerdict(verdictOf(defaultRet))}`);
      }
    } else if (wide) {
      emitTree(asm, wide, tree(wide), defaultRet);
    }
    asm.label(nextArch);
  }
  asm.label(badArch);
  asm.ret(badArchRet, `architecture not in the profile: ${describeVerdict(verdictOf(badArchRet))}`);

  const instructions = asm.assemble();
  if (instructions.length > BPF_MAXINSNS) {
    fail(
      'compile the filter',
      `the program has ${instructions.length} instructions, more than the kernel's limit of ${BPF_MAXINSNS}; merge rules or list fewer architectures`,
    );
  }
  return {
    arch: native.name,
    architectures: architectures.map((a) => a.name),
    instructions,
    bytes: () => encodeFilter(instructions),
    flags,
    flagNames,
    listener: notify
      ? profile.listenerMetadata !== undefined
        ? { path: profile.listenerPath!, metadata: profile.listenerMetadata }
        : { path: profile.listenerPath! }
      : undefined,
    defaultAction: defaultRet,
    skippedSyscalls,
    skippedArchitectures,
    skippedFlags,
    enosysAbove,
  };
}

/**
 * Adds rules to a syscall's list. Conditional rules are tried in profile order; an
 * unconditional rule decides the syscall outright and the first one wins, as in
 * libseccomp (so under runc and crun), whatever the order of the profile.
 */
function appendRules(byNr: Map<number, Rule[]>, nr: number, rules: Rule[]): void {
  const list = byNr.get(nr) ?? [];
  if (list.some((r) => r.conds.length === 0)) return;
  const always = rules.find((r) => r.conds.length === 0);
  byNr.set(nr, always ? [always] : [...list, ...rules]);
}

/**
 * The check of a multiplexer's call number. ipc(2) keeps a version in the high 16
 * bits of its first argument and dispatches on the low 16 only, so a masked compare:
 * an exact one would let `call | 1 << 16` through.
 */
function multiplexedCall(multiplexer: string, call: number): Cond {
  return multiplexer === 'ipc'
    ? { index: 0, op: 'SCMP_CMP_MASKED_EQ', value: 0xffffn, valueTwo: BigInt(call) }
    : { index: 0, op: 'SCMP_CMP_EQ', value: BigInt(call), valueTwo: 0n };
}

function condition(
  arg: { index: number; value: number | bigint; valueTwo?: number | bigint; op: string },
  where: string,
): Cond {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) {
    fail(`compile ${where}`, `index ${arg.index} is not a syscall argument (0 to 5)`);
  }
  if (!OPERATORS.includes(arg.op as LinuxSeccompOperator)) {
    fail(`compile ${where}`, `unknown operator ${arg.op}; known: ${OPERATORS.join(', ')}`);
  }
  const u64 = (v: number | bigint | undefined, field: string): bigint => {
    if (v === undefined) return 0n;
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      fail(`compile ${where}.${field}`, `${v} is not exact: values above 2^53 must be parsed as bigint`);
    }
    const b = BigInt(v);
    if (b < 0n || b > U64_MAX) fail(`compile ${where}.${field}`, `${v} is not a uint64`);
    return b;
  };
  return {
    index: arg.index,
    op: arg.op as LinuxSeccompOperator,
    value: u64(arg.value, 'value'),
    valueTwo: u64(arg.valueTwo, 'valueTwo'),
  };
}

const ENOSYS_RET = (SECCOMP_RET.ERRNO | 38) >>> 0;

/**
 * Covers every syscall number with ranges; neighbours with the same plain verdict
 * merge. Numbers above `enosysAbove` that no rule names answer ENOSYS.
 */
function ranges(byNr: Map<number, Rule[]>, defaultRet: number, enosysAbove?: number): Range[] {
  const out: Range[] = [];
  const add = (lo: number, hi: number, leaf: Leaf) => {
    const last = out.at(-1);
    if (last && last.leaf.kind === 'ret' && leaf.kind === 'ret' && last.leaf.ret === leaf.ret) last.hi = hi;
    else out.push({ lo, hi, leaf });
  };
  const gap = (lo: number, hi: number) => {
    if (enosysAbove === undefined || hi <= enosysAbove) add(lo, hi, { kind: 'ret', ret: defaultRet });
    else if (lo > enosysAbove) add(lo, hi, { kind: 'ret', ret: ENOSYS_RET });
    else {
      add(lo, enosysAbove, { kind: 'ret', ret: defaultRet });
      add(enosysAbove + 1, hi, { kind: 'ret', ret: ENOSYS_RET });
    }
  };
  let next = 0;
  for (const nr of [...byNr.keys()].sort((a, b) => a - b)) {
    const rules = byNr.get(nr)!;
    if (nr > next) gap(next, nr - 1);
    const only = rules[0]!;
    add(
      nr,
      nr,
      rules.length === 1 && only.conds.length === 0
        ? { kind: 'ret', ret: only.ret }
        : { kind: 'rules', nr, rules },
    );
    next = nr + 1;
  }
  if (next <= 0xffffffff) gap(next, 0xffffffff);
  return out;
}

function emitTree(asm: Assembler, arch: ArchInfo, list: Range[], defaultRet: number): void {
  const names = (lo: number, hi: number): string => {
    const found = syscallsInRange(arch.name, lo, hi);
    if (found.length === 0) return lo === hi ? `nr ${lo}` : `nr ${lo}..${hi}`;
    return found.length <= 4
      ? found.join(' ')
      : `${found.slice(0, 3).join(' ')} … (${found.length} syscalls)`;
  };
  const walk = (from: number, to: number): void => {
    if (to - from === 1) {
      const { lo, hi, leaf } = list[from]!;
      if (leaf.kind === 'ret')
        asm.ret(leaf.ret, `${arch.name} ${names(lo, hi)}: ${describeVerdict(verdictOf(leaf.ret))}`);
      else emitRules(asm, arch, leaf, names(lo, hi), defaultRet);
      return;
    }
    const mid = (from + to) >> 1;
    const right = asm.newLabel('nr');
    const pivot = list[mid]!.lo;
    asm.jump(BPF.JGE, pivot, right, undefined, `nr >= ${pivot} (${names(pivot, pivot)})`);
    walk(from, mid);
    asm.label(right);
    walk(mid, to);
  };
  walk(0, list.length);
}

function emitRules(
  asm: Assembler,
  arch: ArchInfo,
  leaf: Extract<Leaf, { kind: 'rules' }>,
  name: string,
  defaultRet: number,
): void {
  for (const rule of leaf.rules) {
    const nextRule = asm.newLabel('rule');
    for (const c of rule.conds) emitCondition(asm, arch, c, nextRule);
    const text = rule.conds.map(
      (c) =>
        `arg${c.index} ${c.op.slice('SCMP_CMP_'.length)} ${c.value}${c.op === 'SCMP_CMP_MASKED_EQ' ? ` ${c.valueTwo}` : ''}`,
    );
    asm.ret(
      rule.ret,
      `${arch.name} ${name}${text.length ? ` if ${text.join(' && ')}` : ''}: ${describeVerdict(verdictOf(rule.ret))}`,
    );
    asm.label(nextRule);
  }
  asm.ret(defaultRet, `${arch.name} ${name}: no rule matched: ${describeVerdict(verdictOf(defaultRet))}`);
}

/**
 * Emits one 64-bit comparison as two 32-bit ones (cBPF registers are 32 bits):
 * the high words decide unless they are equal, then the low words decide. Falls
 * through when the condition holds, jumps to `fail` when it does not. A 32-bit ABI
 * compares the low words only (see ArchInfo.bits).
 */
function emitCondition(asm: Assembler, arch: ArchInfo, c: Cond, fail: string): void {
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number(v >> 32n);
  const masked = c.op === 'SCMP_CMP_MASKED_EQ';
  const datum = masked ? c.valueTwo : c.value;
  const off = SECCOMP_DATA.ARGS + 8 * c.index;
  const pass = asm.newLabel('pass');
  const tag = `arg${c.index}`;
  if (arch.bits === 64) {
    asm.stmt(BPF.LD | BPF.W | BPF.ABS, off + 4, `${tag} high word`);
    const h = hi(datum);
    switch (c.op) {
      case 'SCMP_CMP_EQ':
        asm.jump(BPF.JEQ, h, undefined, fail);
        break;
      case 'SCMP_CMP_NE':
        asm.jump(BPF.JEQ, h, undefined, pass);
        break;
      case 'SCMP_CMP_GT':
      case 'SCMP_CMP_GE':
        asm.jump(BPF.JGT, h, pass, undefined);
        asm.jump(BPF.JEQ, h, undefined, fail);
        break;
      case 'SCMP_CMP_LT':
      case 'SCMP_CMP_LE':
        asm.jump(BPF.JGT, h, fail, undefined);
        asm.jump(BPF.JEQ, h, undefined, pass);
        break;
      case 'SCMP_CMP_MASKED_EQ':
        asm.stmt(BPF.ALU | BPF.AND | BPF.K, hi(c.value));
        asm.jump(BPF.JEQ, h, undefined, fail);
        break;
    }
  }
  asm.stmt(BPF.LD | BPF.W | BPF.ABS, off, `${tag} low word`);
  const l = lo(datum);
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      asm.jump(BPF.JEQ, l, undefined, fail);
      break;
    case 'SCMP_CMP_NE':
      asm.jump(BPF.JEQ, l, fail, undefined);
      break;
    case 'SCMP_CMP_GT':
      asm.jump(BPF.JGT, l, undefined, fail);
      break;
    case 'SCMP_CMP_GE':
      asm.jump(BPF.JGE, l, undefined, fail);
      break;
    case 'SCMP_CMP_LT':
      asm.jump(BPF.JGE, l, fail, undefined);
      break;
    case 'SCMP_CMP_LE':
      asm.jump(BPF.JGT, l, fail, undefined);
      break;
    case 'SCMP_CMP_MASKED_EQ':
      asm.stmt(BPF.ALU | BPF.AND | BPF.K, lo(c.value));
      asm.jump(BPF.JEQ, l, undefined, fail);
      break;
  }
  asm.label(pass);
}
