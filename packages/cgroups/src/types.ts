// The OCI runtime-spec types of `linux.resources`, from @ctr/spec.
import type { Linux } from '@ctr/spec';

export type {
  LinuxBlockIO,
  LinuxCPU,
  LinuxDeviceCgroup,
  LinuxHugepageLimit,
  LinuxInterfacePriority,
  LinuxMemory,
  LinuxNetwork,
  LinuxPids,
  LinuxRdma,
  LinuxResources,
  LinuxThrottleDevice,
  LinuxWeightDevice,
} from '@ctr/spec';

/** The parts of `config.linux` this stage reads. */
export type LinuxCgroupConfig = Pick<Linux, 'cgroupsPath' | 'resources'>;
