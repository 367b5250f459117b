export { applyPrivileges } from './apply.ts';
export { describeOp, formatPrivilegesPlan } from './format.ts';
export { type PrivilegesHost, probePrivilegesHost } from './host.ts';
export {
  capabilityMask,
  capabilityName,
  capabilityNames,
  capabilityNumber,
  knownCapabilities,
} from './names.ts';
export { type PrivilegeOp, type PrivilegesPlan, planPrivileges } from './plan.ts';
