// Kernel notification and filtering objects for cgroups: eventfd(2) (cgroup v1
// memory.oom_control notifications) and bpf(2) device programs (cgroup v2 has no
// devices.allow file; access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE program).
import { check, libc } from './libc.ts';

/** eventfd2 flags. */
export const EFD = { CLOEXEC: 0o2000000, NONBLOCK: 0o4000, SEMAPHORE: 1 } as const;

const _eventfd = libc.func('int eventfd(unsigned int initval, int flags)');

/** Creates an eventfd counter (eventfd(2)); EFD.CLOEXEC is always added. */
export function eventfd(initval = 0, flags = 0): number {
  return check('eventfd', _eventfd(initval, flags | EFD.CLOEXEC));
}
