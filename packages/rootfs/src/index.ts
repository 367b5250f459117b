export { type ApplyRootfsOptions, applyRootfs } from './apply.ts';
export { formatRootfsPlan } from './format.ts';
export { parseCgroupMounts, readHostCgroups } from './host.ts';
export { type ParsedOptions, parseMountOptions } from './options.ts';
export {
  containerPath,
  DEFAULT_DEVICES,
  type DeviceType,
  planRootfs,
  type RootfsOp,
  type RootfsPlan,
} from './plan.ts';
export { createInRoot, openInRoot } from './resolve.ts';
export { checkSysctl, sysctlNamespace } from './sysctl.ts';
export * from './types.ts';
