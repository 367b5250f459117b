// The package entry @ctr/runtime/run: a foreground `run` and nothing else. A CLI
// loads its modules on every `ctr run`; through the main entry it would load every
// operation of the package (the init launcher, exec, the seccomp compiler for
// features and plan), which the fast launcher does not use. The init launcher is
// loaded when a config needs it.
export { type FastRunOptions, runFast, runWithFastestLauncher } from './run.ts';
