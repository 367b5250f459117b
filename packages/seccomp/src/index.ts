export { describeVerdict, type SeccompVerdict, verdictOf } from './actions.ts';
export { ARCHES, type ArchInfo, nativeArch, type SeccompArch, syscallName, syscallNumber } from './arch.ts';
export { BPF, BPF_MAXINSNS, decodeFilter, encodeFilter, SECCOMP_RET, type SockFilter } from './bpf.ts';
export {
  type CompileOptions,
  compileSeccomp,
  SECCOMP_FILTER_FLAG,
  type SeccompListener,
  type SeccompProgram,
} from './compile.ts';
export {
  DEFAULT_CAPABILITIES,
  type DefaultProfileOptions,
  defaultSeccompProfile,
} from './default-profile.ts';
export { disassemble } from './disassemble.ts';
export {
  evaluateSeccomp,
  runFilter,
  type SeccompDecision,
  type SeccompQuery,
  seccompData,
} from './evaluate.ts';
export { installSeccomp, type ListenerHandover, sendListenerFd } from './install.ts';
export { parseSeccompProfile, readSeccompProfile } from './profile.ts';
export type * from './types.ts';
