// The OCI runtime-spec `linux.seccomp` types come from @ctr/spec.
export type {
  LinuxSeccomp,
  LinuxSeccompAction,
  LinuxSeccompArg,
  LinuxSeccompFlag,
  LinuxSeccompOperator,
  LinuxSyscall,
} from '@ctr/spec';
