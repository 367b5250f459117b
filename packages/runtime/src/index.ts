export { type Bundle, type BundleConfig, type Hook, type HookName, loadBundle } from './bundle.ts';
export { type ExecOverrides, execProcessFrom, loadProcessFile } from './exec/process.ts';
export { type FastRunOptions, runFast, runWithFastestLauncher } from './fast/run.ts';
export { features } from './features.ts';
export { runHook, runHooks } from './hooks.ts';
export { validateId } from './ids.ts';
export { pause, processes, resume, stats, update } from './operations/cgroup.ts';
export { type CreatedContainer, type CreateOptions, create } from './operations/create.ts';
export { type DeleteOptions, deleteContainer } from './operations/delete.ts';
export { type ExecOptions, type ExecResult, exec } from './operations/exec.ts';
export { type KillOptions, kill } from './operations/kill.ts';
export { type RunOptions, run } from './operations/run.ts';
export { type StartOptions, start } from './operations/start.ts';
export { type ContainerInfo, list, state } from './operations/state.ts';
export { planLaterStages, type StagePlan } from './plan.ts';
export { parseSignal, signalName } from './signals.ts';
export {
  type ContainerRecord,
  type ContainerStatus,
  ContainerStore,
  DEFAULT_ROOT,
  type OciState,
} from './store.ts';
