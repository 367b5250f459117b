// Kernel notification and filtering objects for cgroups: eventfd(2) (cgroup v1
// memory.oom_control notifications) and bpf(2) device programs (cgroup v2 has no
// devices.allow file; access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE program).
import type { IKoffiCType } from 'koffi';
import { SysError } from './errors.ts';
import { check, koffi, libc, rawSyscall } from './libc.ts';

/** eventfd2 flags. */
export const EFD = { CLOEXEC: 0o2000000, NONBLOCK: 0o4000, SEMAPHORE: 1 } as const;

const _eventfd = libc.func('int eventfd(unsigned int initval, int flags)');

/** Creates an eventfd counter (eventfd(2)); EFD.CLOEXEC is always added. */
export function eventfd(initval = 0, flags = 0): number {
  return check('eventfd', _eventfd(initval, flags | EFD.CLOEXEC));
}

/** bpf(2) commands used by ctr (linux/bpf.h enum bpf_cmd). */
export const BPF_CMD = {
  PROG_LOAD: 5,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_GET_FD_BY_ID: 13,
  PROG_QUERY: 16,
} as const;

/** Program and attach types for cgroup device filtering. */
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** Attach flag: several programs on one cgroup, all must allow (lets an update swap programs without a gap). */
export const BPF_F_ALLOW_MULTI = 2;

const ProgLoadAttr = koffi.struct('ctr_bpf_prog_load_attr', {
  prog_type: 'uint32_t',
  insn_cnt: 'uint32_t',
  insns: 'void *',
  license: 'void *',
  log_level: 'uint32_t',
  log_size: 'uint32_t',
  log_buf: 'void *',
  kern_version: 'uint32_t',
  prog_flags: 'uint32_t',
  prog_name: koffi.array('uint8_t', 16),
  prog_ifindex: 'uint32_t',
  expected_attach_type: 'uint32_t',
});
const AttachAttr = koffi.struct('ctr_bpf_attach_attr', {
  target_fd: 'uint32_t',
  attach_bpf_fd: 'uint32_t',
  attach_type: 'uint32_t',
  attach_flags: 'uint32_t',
  replace_bpf_fd: 'uint32_t',
});
const QueryAttr = koffi.struct('ctr_bpf_query_attr', {
  target_fd: 'uint32_t',
  attach_type: 'uint32_t',
  query_flags: 'uint32_t',
  attach_flags: 'uint32_t',
  prog_ids: 'void *',
  prog_cnt: 'uint32_t',
});
const GetFdAttr = koffi.struct('ctr_bpf_get_fd_attr', {
  prog_id: 'uint32_t',
  next_id: 'uint32_t',
  open_flags: 'uint32_t',
});

function bpf(cmd: number, type: IKoffiCType, attr: unknown, hint: string): number {
  return rawSyscall(
    'bpf',
    [
      ['int', cmd],
      [koffi.pointer(type) as unknown as string, attr],
      ['unsigned int', koffi.sizeof(type)],
    ],
    undefined,
    hint,
  );
}

export interface BpfProgLoad {
  type: number;
  /** eBPF instructions, 8 bytes each. */
  insns: Buffer;
  license: string;
  /** Program name shown by bpftool (at most 15 bytes). */
  name?: string;
  expectedAttachType?: number;
}

/**
 * Loads an eBPF program (bpf(2) BPF_PROG_LOAD) and returns its fd. The kernel
 * verifier's log is put in the error's hint when it rejects the program.
 */
export function bpfProgLoad(prog: BpfProgLoad): number {
  if (prog.insns.length === 0 || prog.insns.length % 8 !== 0) {
    throw new RangeError(
      `sys: an eBPF program is a non-empty array of 8-byte instructions, not ${prog.insns.length} bytes`,
    );
  }
  const log = Buffer.alloc(64 * 1024);
  const name = Buffer.alloc(16);
  name.write((prog.name ?? '').slice(0, 15), 'latin1');
  const attr = {
    prog_type: prog.type,
    insn_cnt: prog.insns.length / 8,
    insns: prog.insns,
    license: Buffer.from(`${prog.license}\0`, 'latin1'),
    log_level: 1,
    log_size: log.length,
    log_buf: log,
    kern_version: 0,
    prog_flags: 0,
    prog_name: [...name],
    prog_ifindex: 0,
    expected_attach_type: prog.expectedAttachType ?? 0,
  };
  try {
    return bpf(BPF_CMD.PROG_LOAD, ProgLoadAttr, attr, 'loading BPF programs needs CAP_BPF or CAP_SYS_ADMIN');
  } catch (e) {
    const verifier = log.toString('latin1', 0, Math.max(0, log.indexOf(0))).trim();
    if (e instanceof SysError && verifier) {
      throw new SysError('bpf', e.errno ?? 0, undefined, `the verifier rejected the program:\n${verifier}`);
    }
    throw e;
  }
}

/** Attaches a program to a cgroup directory fd (bpf(2) BPF_PROG_ATTACH); the cgroup keeps it after the fd closes. */
export function bpfProgAttach(cgroupFd: number, progFd: number, attachType: number, flags = 0): void {
  bpf(
    BPF_CMD.PROG_ATTACH,
    AttachAttr,
    {
      target_fd: cgroupFd,
      attach_bpf_fd: progFd,
      attach_type: attachType,
      attach_flags: flags,
      replace_bpf_fd: 0,
    },
    'attaching needs CAP_SYS_ADMIN and a cgroup v2 directory fd (not O_PATH)',
  );
}

/** Detaches a program from a cgroup (bpf(2) BPF_PROG_DETACH). */
export function bpfProgDetach(cgroupFd: number, progFd: number, attachType: number): void {
  bpf(
    BPF_CMD.PROG_DETACH,
    AttachAttr,
    {
      target_fd: cgroupFd,
      attach_bpf_fd: progFd,
      attach_type: attachType,
      attach_flags: 0,
      replace_bpf_fd: 0,
    },
    'the program is not attached to this cgroup with this attach type',
  );
}

/** The ids of the programs attached to a cgroup for one attach type (bpf(2) BPF_PROG_QUERY); changes nothing. */
export function bpfProgQuery(cgroupFd: number, attachType: number): number[] {
  const ids = Buffer.alloc(4 * 64);
  const attr = {
    target_fd: cgroupFd,
    attach_type: attachType,
    query_flags: 0,
    attach_flags: 0,
    prog_ids: ids,
    prog_cnt: 64,
  };
  const buf = Buffer.alloc(koffi.sizeof(QueryAttr));
  koffi.encode(buf, QueryAttr, attr);
  rawSyscall(
    'bpf',
    [
      ['int', BPF_CMD.PROG_QUERY],
      ['uint8_t *', buf],
      ['unsigned int', buf.length],
    ],
    undefined,
    'querying needs CAP_SYS_ADMIN and a cgroup v2 directory fd',
  );
  const count = (koffi.decode(buf, QueryAttr) as { prog_cnt: number }).prog_cnt;
  return Array.from({ length: count }, (_, i) => ids.readUInt32LE(i * 4));
}

/** Opens an fd on a loaded program by its id (bpf(2) BPF_PROG_GET_FD_BY_ID). */
export function bpfProgGetFdById(id: number): number {
  return bpf(
    BPF_CMD.PROG_GET_FD_BY_ID,
    GetFdAttr,
    { prog_id: id, next_id: 0, open_flags: 0 },
    'no such program, or the caller lacks CAP_SYS_ADMIN',
  );
}
