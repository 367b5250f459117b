import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  rmdirSync,
  writeSync,
} from 'node:fs';
import { needsRoot, runnable } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import {
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  bpfProgAttach,
  bpfProgDetach,
  bpfProgGetFdById,
  bpfProgLoad,
  bpfProgQuery,
  EFD,
  eventfd,
  SysError,
} from '../src/index.ts';

/** One eBPF instruction: opcode, registers, offset, immediate. */
const insn = (code: number, dst: number, src: number, off: number, imm: number): Buffer => {
  const b = Buffer.alloc(8);
  b[0] = code;
  b[1] = (src << 4) | dst;
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
};
const EXIT = insn(0x95, 0, 0, 0, 0);
const allowAll = Buffer.concat([insn(0xb7, 0, 0, 0, 1), EXIT]);

describe('eventfd', () => {
  it('counts writes and reads back the sum; non-blocking when empty', () => {
    const fd = eventfd(0, EFD.NONBLOCK);
    try {
      const one = Buffer.alloc(8);
      one.writeBigUInt64LE(3n);
      writeSync(fd, one);
      writeSync(fd, one);
      const out = Buffer.alloc(8);
      readSync(fd, out, 0, 8, null);
      expect(out.readBigUInt64LE()).toBe(6n);
      expect(() => readSync(fd, out, 0, 8, null)).toThrow(/EAGAIN/);
    } finally {
      closeSync(fd);
    }
  });

  it('rejects unknown flags with a SysError', () => {
    expect(() => eventfd(0, 0x40000000)).toThrow(SysError);
  });
});

// cgroup.controllers exists only on cgroup2, so it tells the unified mount apart on hybrid hosts.
const cgroup2 = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) =>
  existsSync(`${d}/cgroup.controllers`),
);

describe.runIf(
  runnable(
    'bpf cgroup device programs',
    needsRoot(),
    cgroup2 ? undefined : 'no cgroup2 hierarchy is mounted',
  ),
)('bpf', () => {
  const root = cgroup2!;

  it('loads, attaches, queries and detaches a device program on a cgroup', () => {
    const prog = bpfProgLoad({
      type: BPF_PROG_TYPE_CGROUP_DEVICE,
      insns: allowAll,
      license: 'Apache',
      name: 'ctr_test',
    });
    const dir = `${root}/ctr-sys-bpf-${process.pid}`;
    mkdirSync(dir);
    const cg = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      expect(bpfProgQuery(cg, BPF_CGROUP_DEVICE)).toEqual([]);
      bpfProgAttach(cg, prog, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
      const ids = bpfProgQuery(cg, BPF_CGROUP_DEVICE);
      expect(ids).toHaveLength(1);
      const again = bpfProgGetFdById(ids[0]!);
      bpfProgDetach(cg, again, BPF_CGROUP_DEVICE);
      closeSync(again);
      expect(bpfProgQuery(cg, BPF_CGROUP_DEVICE)).toEqual([]);
    } finally {
      closeSync(cg);
      closeSync(prog);
      rmdirSync(dir);
    }
  });

  it('puts the verifier log in the error when a program is rejected', () => {
    // Returns without setting r0: the verifier refuses to read an uninitialised register.
    expect(() => bpfProgLoad({ type: BPF_PROG_TYPE_CGROUP_DEVICE, insns: EXIT, license: 'Apache' })).toThrow(
      /bpf: EACCES — the verifier rejected the program:[\s\S]*R0 !read_ok/,
    );
  });

  it('refuses to attach to something that is not a cgroup', () => {
    const prog = bpfProgLoad({ type: BPF_PROG_TYPE_CGROUP_DEVICE, insns: allowAll, license: 'Apache' });
    const notCgroup = openSync('/tmp', constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      expect(() => bpfProgAttach(notCgroup, prog, BPF_CGROUP_DEVICE)).toThrow(SysError);
    } finally {
      closeSync(notCgroup);
      closeSync(prog);
    }
  });
});
