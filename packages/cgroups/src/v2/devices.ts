import { closeSync, constants, openSync } from 'node:fs';
import {
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  bpfProgAttach,
  bpfProgDetach,
  bpfProgGetFdById,
  bpfProgLoad,
  bpfProgQuery,
  stageError,
} from '@ctr/sys';
import { compileDeviceRules } from '../devices/program.ts';
import { fileError } from '../files.ts';
import type { LinuxDeviceCgroup } from '../types.ts';

/**
 * cgroup v2 has no devices.allow: access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE
 * program attached to the cgroup. The new program is attached next to the old ones
 * (BPF_F_ALLOW_MULTI) before they are detached, so an update never leaves a moment
 * where the container may open every device.
 */
export function applyDeviceRulesV2(dir: string, rules: LinuxDeviceCgroup[]): void {
  const program = compileDeviceRules(rules);
  let cgroupFd: number;
  try {
    // An O_PATH fd has no file operations, and the kernel wants a real cgroup dir fd.
    cgroupFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    throw fileError('open cgroup for the device program', dir, e);
  }
  let progFd: number | undefined;
  try {
    const old = bpfProgQuery(cgroupFd, BPF_CGROUP_DEVICE);
    progFd = bpfProgLoad({
      type: BPF_PROG_TYPE_CGROUP_DEVICE,
      insns: program.insns,
      license: 'Apache',
      name: 'ctr_devices',
      expectedAttachType: BPF_CGROUP_DEVICE,
    });
    bpfProgAttach(cgroupFd, progFd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
    for (const id of old) {
      const fd = bpfProgGetFdById(id);
      try {
        bpfProgDetach(cgroupFd, fd, BPF_CGROUP_DEVICE);
      } finally {
        closeSync(fd);
      }
    }
  } catch (e) {
    throw stageError({
      stage: 'cgroups',
      op: 'attach the device program',
      path: dir,
      hint:
        process.geteuid?.() === 0
          ? undefined
          : 'device programs need CAP_BPF and CAP_SYS_ADMIN; a rootless container cannot restrict devices on cgroup v2 (its user namespace already hides host devices)',
      cause: e,
    });
  } finally {
    if (progFd !== undefined) closeSync(progFd);
    closeSync(cgroupFd);
  }
}
