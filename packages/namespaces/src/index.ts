export {
  applyNamespaceOps,
  applyNamespaces,
  CLONE_FLAGS,
  NS_FILE,
  restoreThreadNamespaces,
  type SavedNamespaces,
  saveThreadNamespaces,
} from './apply.ts';
export { waitForIdMaps } from './child.ts';
export { formatNamespacesPlan } from './format.ts';
export {
  hostIdOf,
  parseSubordinateIds,
  readNamespacesHost,
  validateIdMappings,
  waitForUserNamespace,
  writeIdMaps,
} from './idmap.ts';
export { launchCommand, waitForLaunchedProcess } from './launch.ts';
export {
  type NamespaceOp,
  type NamespacesPlan,
  planNamespaces,
  rootHost,
  type TimeClock,
  type TimeOffsetEntry,
  type UserNamespacePlan,
} from './plan.ts';
export {
  type ChildExit,
  type ChildStdio,
  runOnSacrificialThread,
  type SacrificialChild,
  type SacrificialSpawn,
  spawnFromSacrificialThread,
} from './thread.ts';
export * from './types.ts';
