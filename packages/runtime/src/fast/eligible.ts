import type { CgroupPlan } from '@ctr/cgroups';
import type { NamespacesPlan } from '@ctr/namespaces';
import type { BundleConfig } from '../bundle.ts';
import { runningFromReadOnlyNode } from '../node-binary.ts';
import type { RunOptions } from '../operations/run.ts';

// What the launching thread itself still calls once a no_new_privs filter is in
// place: the fork and execve of the program, then waiting for it and ending the
// thread. A profile that denies one of them would break the launcher, not the program.
const LAUNCHER_SYSCALLS = [
  'clone',
  'execve',
  'wait4',
  'futex',
  'epoll_pwait',
  'epoll_wait',
  'read',
  'write',
  'close',
  'mmap',
  'munmap',
  'madvise',
  'rt_sigprocmask',
  'exit',
] as const;

/**
 * Why a foreground `run` cannot take the fast launcher (one Node process, the program
 * spawned from a sacrificial thread), or undefined when it can. Each reason is a case
 * where only the init launcher keeps the container's guarantees.
 */
export async function fastRunBlocker(
  config: BundleConfig,
  opts: Pick<RunOptions, 'detach' | 'consoleSocket' | 'noPivot'>,
  namespaces: NamespacesPlan,
  cgroup: CgroupPlan,
): Promise<string | undefined> {
  // The program is forked from ctr's own thread: until its execve, and again if it
  // makes the kernel run /proc/self/exe (a `#!/proc/self/exe` script, or one swapped
  // in after the program check), it is ctr's Node, whose binary must then be
  // read-only (CVE-2019-5736). The init launcher starts from a read-only clone itself.
  if (!runningFromReadOnlyNode()) {
    return "ctr's Node binary is on a writable mount (tools/setup binds it read-only): a program re-running /proc/self/exe could write to it";
  }
  if (opts.detach) return 'a detached container outlives ctr: its init must wait for `start` on its own';
  if (config.process?.terminal || opts.consoleSocket)
    return 'process.terminal needs the init to set up the pty';
  const hooks = config.hooks;
  if (hooks?.prestart?.length || hooks?.createRuntime?.length || hooks?.createContainer?.length) {
    return 'createRuntime/createContainer hooks run between create and start';
  }
  if (hooks?.startContainer?.length)
    return 'startContainer hooks run inside the container before the program';
  if (namespaces.launcher.length > 0) return 'user and time namespaces are made by unshare(1)';
  if (!namespaces.create.includes('mount'))
    return 'the fast launcher builds the root in a new mount namespace';
  if (cgroup.driver === 'v2') {
    // A v2 cgroup takes whole processes: placing the child before it runs would mean
    // moving ctr itself under the container's limits (its memory.max, its pids.max).
    return 'cgroup v2 moves whole processes only; the init is placed before it runs anything';
  }
  const unified = cgroup.dirs.find((d) => d.controller === 'unified')?.path;
  if (unified && cgroup.writes.some((w) => w.dir === unified)) {
    return "the container sets limits on the hybrid host's unified hierarchy, which ctr would share for a moment";
  }
  const proc = config.process;
  if (proc?.apparmorProfile || proc?.selinuxLabel) {
    return 'LSM labels are written through /proc/thread-self, which is not there after pivot_root';
  }
  if (config.linux?.seccomp && proc?.noNewPrivileges) {
    // Loaded for the configs that need it only: most of what `run` loads otherwise.
    const { compileSeccomp, evaluateSeccomp } = await import('@ctr/seccomp');
    const program = compileSeccomp(config.linux.seccomp);
    const denied = LAUNCHER_SYSCALLS.filter(
      (syscall) => evaluateSeccomp(program, { syscall }).action !== 'SCMP_ACT_ALLOW',
    );
    if (denied.length > 0)
      return `the seccomp profile denies ${denied.join(', ')}, which the launching thread calls`;
  }
  return undefined;
}
