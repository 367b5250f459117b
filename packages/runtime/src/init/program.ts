// The last steps before a container process becomes the user's program, shared by
// a new container's init (order.ts) and a process joining a running one (join.ts):
// privileges, working directory, program lookup, then seccomp and execve.
import { applyPrivileges, type PrivilegesPlan } from '@ctr/capabilities';
import { compileSeccomp, installSeccomp, type SeccompProgram } from '@ctr/seccomp';
import type { LinuxSeccomp, Process } from '@ctr/spec';
import { CtrError, resetSignals } from '@ctr/sys';
import { envRecord } from '../env.ts';
import { checkExecutable, resolveExecutable } from './executable.ts';
import { prepareFdsForExec } from './fds.ts';

/** What the process execs once it is released. */
export interface Program {
  path: string;
  args: string[];
  env: string[];
  /** Installed last, right before execve (when no_new_privs allows it there). */
  seccomp: SeccompProgram | undefined;
}

/**
 * Compiles the seccomp filter (a bad profile fails here, before anything runs), drops
 * to the process's privileges, enters its cwd and finds its program. Runs inside the
 * container's root, with the privileges planned while the host's /proc was visible.
 */
export function prepareProgram(
  proc: Process,
  privileges: PrivilegesPlan,
  seccompProfile: LinuxSeccomp | undefined,
): Program {
  const seccomp = seccompProfile ? compileSeccomp(seccompProfile) : undefined;
  // Without no_new_privs the filter needs CAP_SYS_ADMIN to load, so it goes in before
  // the privileges are dropped, as in runc; with it, last before execve.
  if (seccomp && !proc.noNewPrivileges) installSeccomp(seccomp);

  // rlimits, oom score, bounding set, groups and ids, capabilities, no_new_privs.
  applyPrivileges(privileges);

  try {
    process.chdir(proc.cwd);
  } catch (cause) {
    throw new CtrError({
      stage: 'runtime',
      op: `chdir to process.cwd ${proc.cwd}`,
      hint: 'the working directory must exist inside the container and be reachable by process.user',
      cause,
    });
  }
  // CVE-2024-21626: a cwd that resolves outside the root (through a leaked directory
  // fd) reads back without a leading slash.
  if (!process.cwd().startsWith('/')) {
    throw new CtrError({
      stage: 'runtime',
      op: 'check cwd',
      hint: 'the working directory is outside the container',
    });
  }
  const args = proc.args ?? [];
  if (args.length === 0) {
    throw new CtrError({ stage: 'spec', op: 'process.args', hint: 'process.args: must name a program' });
  }
  const env = proc.env ?? [];
  const path = resolveExecutable(args[0]!, env);
  checkExecutable(args[0]!, path);
  return { path, args, env, seccomp: seccomp && proc.noNewPrivileges ? seccomp : undefined };
}

/**
 * Replaces this process with the program: seccomp last (it never sees the runtime's
 * own syscalls), only stdio and the preserved fds left open, signal dispositions reset.
 * Never returns.
 */
export function execProgram(program: Program, preserveFds: number): never {
  if (program.seccomp) installSeccomp(program.seccomp);
  prepareFdsForExec(preserveFds);
  resetSignals();
  process.execve!(program.path, program.args, envRecord(program.env));
  // execve returns only by throwing.
  process.exit(127);
}
