import { formatPrivilegesPlan, planPrivileges, probePrivilegesHost } from '@ctr/capabilities';
import { compileSeccomp, disassemble } from '@ctr/seccomp';
import type { RuntimeConfig } from '@ctr/spec';
import { planContainerCgroup } from './container-cgroup.ts';

/** One stage's planned operations, as lines for `ctr plan`. */
export interface StagePlan {
  stage: string;
  lines: string[];
}

/**
 * What the stages the runtime adds after namespaces and rootfs will do: the cgroup
 * (directories and writes), the privileges of the process, and the seccomp filter as
 * BPF assembly. Pure apart from probing the host's cgroups and capabilities.
 */
export function planLaterStages(config: RuntimeConfig, id = 'plan'): StagePlan[] {
  const cgroup = planContainerCgroup(config, id);
  const stages: StagePlan[] = [
    {
      stage: 'cgroups',
      lines: [
        ...cgroup.dirs.map((d) => `mkdir ${d.path}`),
        ...cgroup.writes.map((w) => `write ${w.dir}/${w.file} = ${w.value}`),
        ...cgroup.warnings.map((w) => `warning: ${w}`),
      ],
    },
  ];
  if (config.process) {
    const lines = formatPrivilegesPlan(planPrivileges(config.process, probePrivilegesHost(), config.linux));
    stages.push({ stage: 'capabilities', lines });
  }
  stages.push({
    stage: 'seccomp',
    lines: config.linux?.seccomp
      ? disassemble(compileSeccomp(config.linux.seccomp))
          .split('\n')
          .filter((l) => l.length > 0)
      : ['no filter (linux.seccomp is not set)'],
  });
  return stages;
}
