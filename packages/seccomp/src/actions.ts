import { CtrError, errnoName } from '@ctr/sys';
import { SECCOMP_RET } from './bpf.ts';
import type { LinuxSeccompAction } from './types.ts';

// runc and libseccomp answer EPERM when a profile's ERRNO/TRACE action names no errno.
const EPERM = 1;

/** The filter return value of an OCI action (linux/seccomp.h SECCOMP_RET_*). */
export function actionValue(action: LinuxSeccompAction, errnoRet: number | undefined, where: string): number {
  const data = (): number => {
    const ret = errnoRet ?? EPERM;
    if (!Number.isInteger(ret) || ret < 0 || ret > SECCOMP_RET.DATA) {
      throw new CtrError({
        stage: 'seccomp',
        op: `compile ${where}`,
        hint: `errnoRet ${ret} is not an integer between 0 and 65535`,
      });
    }
    return ret;
  };
  if (errnoRet !== undefined && action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') {
    throw new CtrError({
      stage: 'seccomp',
      op: `compile ${where}`,
      hint: `errnoRet is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${action}`,
    });
  }
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET.ERRNO | data()) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET.TRACE | data()) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET.ALLOW;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET.LOG;
    case 'SCMP_ACT_NOTIFY':
      return SECCOMP_RET.USER_NOTIF;
    default:
      throw new CtrError({
        stage: 'seccomp',
        op: `compile ${where}`,
        hint: `unknown action ${String(action)}; the runtime spec defines SCMP_ACT_KILL, KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, TRACE, ALLOW, LOG and NOTIFY`,
      });
  }
}

/** What a filter return value means, as an OCI action and its data. */
export interface SeccompVerdict {
  action: Exclude<LinuxSeccompAction, 'SCMP_ACT_KILL'>;
  /** The errno for ERRNO, the tracer's message for TRACE. */
  data?: number;
  /** The raw 32-bit return value of the filter. */
  ret: number;
}

/** Decodes a filter return value the way the kernel's seccomp does. */
export function verdictOf(ret: number): SeccompVerdict {
  const r = ret >>> 0;
  const data = r & SECCOMP_RET.DATA;
  switch ((r & SECCOMP_RET.ACTION_FULL) >>> 0) {
    case SECCOMP_RET.KILL_THREAD:
      return { action: 'SCMP_ACT_KILL_THREAD', ret: r };
    case SECCOMP_RET.TRAP:
      return { action: 'SCMP_ACT_TRAP', ret: r };
    case SECCOMP_RET.ERRNO:
      return { action: 'SCMP_ACT_ERRNO', data, ret: r };
    case SECCOMP_RET.USER_NOTIF:
      return { action: 'SCMP_ACT_NOTIFY', ret: r };
    case SECCOMP_RET.TRACE:
      return { action: 'SCMP_ACT_TRACE', data, ret: r };
    case SECCOMP_RET.LOG:
      return { action: 'SCMP_ACT_LOG', ret: r };
    case SECCOMP_RET.ALLOW:
      return { action: 'SCMP_ACT_ALLOW', ret: r };
    default:
      // The kernel kills the process for KILL_PROCESS and for any unknown action.
      return { action: 'SCMP_ACT_KILL_PROCESS', ret: r };
  }
}

/** "ERRNO(EPERM)", "ALLOW", "TRACE(1)": a verdict for people. */
export function describeVerdict(v: SeccompVerdict): string {
  const name = v.action.slice('SCMP_ACT_'.length);
  if (v.action === 'SCMP_ACT_ERRNO') return `${name}(${errnoName(v.data ?? 0)})`;
  if (v.action === 'SCMP_ACT_TRACE') return `${name}(${v.data})`;
  return name;
}
