import { writeFileSync } from 'node:fs';
import {
  CtrError,
  capAmbientClearAll,
  capAmbientRaise,
  capbsetDrop,
  capget,
  capset,
  IOPRIO_CLASS,
  ioprioSet,
  PERSONALITY,
  personality,
  prlimit,
  RLIMIT,
  type RlimitName,
  SCHED,
  SCHED_FLAG,
  schedSetattr,
  setgroups,
  setKeepCaps,
  setNoNewPrivs,
  setresgid,
  setresuid,
  stageError,
  umask,
} from '@ctr/sys';
import { describeOp } from './format.ts';
import { capabilityMask, capabilityNumber } from './names.ts';
import type { PrivilegeOp, PrivilegesPlan } from './plan.ts';

const CAP_SYS_RESOURCE = 24n;

/**
 * Performs a plan on the calling thread. Credentials, capabilities, personality,
 * I/O priority, scheduler and no_new_privs are per thread; rlimits, oom_score_adj and
 * (unless CLONE_FS was unshared) umask are process-wide. Call it on a sacrificial
 * thread that spawns the program, or in the init right before seccomp and execve.
 */
export function applyPrivileges(plan: PrivilegesPlan): void {
  for (const op of plan.ops) {
    try {
      applyOne(op);
    } catch (cause) {
      throw stageError({ stage: 'capabilities', op: describeOp(op), hint: hintFor(op, cause), cause });
    }
  }
}

function applyOne(op: PrivilegeOp): void {
  switch (op.op) {
    case 'setrlimit':
      prlimit(0, RLIMIT[op.type.slice('RLIMIT_'.length) as RlimitName], { soft: op.soft, hard: op.hard });
      return;
    case 'oomScoreAdj':
      writeFileSync('/proc/self/oom_score_adj', String(op.value));
      return;
    case 'ioPriority':
      ioprioSet(IOPRIO_CLASS[op.class.slice('IOPRIO_CLASS_'.length) as 'RT' | 'BE' | 'IDLE'], op.priority);
      return;
    case 'scheduler':
      schedSetattr({
        policy: SCHED[op.policy.slice('SCHED_'.length) as keyof typeof SCHED],
        flags: op.flags.reduce(
          (f, name) => f | SCHED_FLAG[name.slice('SCHED_FLAG_'.length) as keyof typeof SCHED_FLAG],
          0,
        ),
        nice: op.nice,
        priority: op.priority,
        runtime: op.runtime,
        deadline: op.deadline,
        period: op.period,
      });
      return;
    case 'personality':
      personality(PERSONALITY[op.domain]);
      return;
    case 'apparmorProfile':
      writeLsmAttr(
        ['/proc/thread-self/attr/apparmor/exec', '/proc/thread-self/attr/exec'],
        `exec ${op.profile}`,
      );
      return;
    case 'selinuxLabel':
      writeLsmAttr(['/proc/thread-self/attr/exec'], op.label);
      return;
    case 'dropBounding':
      for (const c of op.caps) capbsetDrop(capabilityNumber(c) as number);
      return;
    case 'keepCaps':
      setKeepCaps(op.on);
      return;
    case 'setgroups':
      setgroups(op.gids);
      return;
    case 'setresgid':
      setresgid(op.gid, op.gid, op.gid);
      return;
    case 'setresuid':
      setresuid(op.uid, op.uid, op.uid);
      return;
    case 'umask':
      umask(op.mask);
      return;
    case 'capset':
      capset({
        effective: capabilityMask(op.effective),
        permitted: capabilityMask(op.permitted),
        inheritable: capabilityMask(op.inheritable),
      });
      return;
    case 'ambient':
      capAmbientClearAll();
      for (const c of op.raise) capAmbientRaise(capabilityNumber(c) as number);
      return;
    case 'noNewPrivs':
      setNoNewPrivs();
      return;
  }
}

function writeLsmAttr(paths: string[], value: string): void {
  let last: unknown;
  for (const p of paths) {
    try {
      writeFileSync(p, value);
      return;
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

function hintFor(op: PrivilegeOp, cause: unknown): string | undefined {
  const code = cause instanceof CtrError ? cause.code : (cause as NodeJS.ErrnoException).code;
  if (op.op === 'setrlimit' && code === 'EPERM' && !((capget().effective >> CAP_SYS_RESOURCE) & 1n)) {
    return 'the runtime lacks CAP_SYS_RESOURCE in its bounding set; lower process.rlimits';
  }
  if (op.op === 'oomScoreAdj' && (code === 'EACCES' || code === 'EPERM')) {
    return 'lowering oom_score_adj below its current value needs CAP_SYS_RESOURCE; raise process.oomScoreAdj';
  }
  if ((op.op === 'setresuid' || op.op === 'setresgid' || op.op === 'setgroups') && code === 'EPERM') {
    return 'changing ids needs CAP_SETUID/CAP_SETGID, and the id must be mapped in the user namespace';
  }
  if (op.op === 'capset' && code === 'EPERM') {
    return 'a capability was asked for that the process no longer holds (dropped from the bounding set or never permitted)';
  }
  return cause instanceof CtrError ? cause.hint : (cause as Error).message;
}
