import type { PrivilegeOp, PrivilegesPlan } from './plan.ts';

/** One line per operation, for `ctr plan` and logs. */
export function describeOp(op: PrivilegeOp): string {
  switch (op.op) {
    case 'setrlimit':
      return `setrlimit ${op.type} soft=${op.soft} hard=${op.hard}`;
    case 'oomScoreAdj':
      return `write oom_score_adj ${op.value}`;
    case 'ioPriority':
      return `ioprio_set ${op.class} ${op.priority}`;
    case 'scheduler':
      return `sched_setattr ${op.policy} nice=${op.nice} priority=${op.priority}${op.flags.length ? ` flags=${op.flags.join('|')}` : ''}`;
    case 'personality':
      return `personality ${op.domain}`;
    case 'apparmorProfile':
      return `apparmor exec profile ${op.profile}`;
    case 'selinuxLabel':
      return `selinux exec label ${op.label}`;
    case 'dropBounding':
      return `drop bounding set ${op.caps.join(',')}`;
    case 'keepCaps':
      return `prctl PR_SET_KEEPCAPS ${op.on ? 1 : 0}`;
    case 'setgroups':
      return `setgroups [${op.gids.join(',')}]`;
    case 'setresgid':
      return `setresgid ${op.gid}`;
    case 'setresuid':
      return `setresuid ${op.uid}`;
    case 'umask':
      return `umask ${op.mask.toString(8).padStart(4, '0')}`;
    case 'capset':
      return `capset effective=[${op.effective.join(',')}] permitted=[${op.permitted.join(',')}] inheritable=[${op.inheritable.join(',')}]`;
    case 'ambient':
      return `clear ambient set, raise [${op.raise.join(',')}]`;
    case 'noNewPrivs':
      return 'prctl PR_SET_NO_NEW_PRIVS 1';
  }
}

/** The plan as lines: one per operation, then the warnings (as `ctr plan` prints every stage). */
export function formatPrivilegesPlan(plan: PrivilegesPlan): string[] {
  return [...plan.ops.map(describeOp), ...plan.warnings.map((w) => `warning: ${w}`)];
}
