export type { Cgroup, CgroupEvent, EventWatch, FreezerState } from './cgroup.ts';
export { blkioWeightToIoWeight, sharesToWeight, swapToV2 } from './convert.ts';
export {
  type CgroupHost,
  type CgroupMode,
  type CgroupMount,
  cgroupHostFrom,
  currentCgroups,
  detectCgroups,
  ownCgroupDir,
  parseCgroupMounts,
  parseProcCgroup,
  V1_CONTROLLERS,
  type V1Controller,
} from './detect.ts';
export {
  ACCESS,
  type DeviceException,
  type DeviceState,
  deviceAllowed,
  emulateDeviceRules,
} from './devices/emulator.ts';
export { compileDeviceRules, type DeviceProgram } from './devices/program.ts';
export { membershipAfterJoin } from './membership.ts';
export { openCgroup } from './open.ts';
export { parseCgroupsPath } from './path.ts';
export {
  type CgroupDir,
  type CgroupEnable,
  type CgroupPlan,
  type CgroupWrite,
  type PlanCgroupOptions,
  planCgroup,
  planWrites,
} from './plan.ts';
export type { BlkioEntry, CgroupStats, MemoryEntry } from './stats.ts';
export type * from './types.ts';
export { warmCgroupMigration, warmupSettled } from './warm.ts';
