import type { CommandEntry } from './command.ts';
import { cgroupsCommands } from './registry/cgroups.ts';
import { containersCommands } from './registry/containers.ts';
import { imageCommands } from './registry/image.ts';
import { planCommands } from './registry/plan.ts';
import { registryCommands } from './registry/registry.ts';
import { runtimeCommands } from './registry/runtime.ts';
import { seccompCommands } from './registry/seccomp.ts';
import { unpackCommands } from './registry/unpack.ts';

/**
 * Every command, loaded only when called so `ctr --version` and each container
 * operation pay only for the modules they use. The packages that implement a
 * command own its logic; the modules in commands/ parse flags and print. Each file
 * in registry/ lists the commands of one area.
 */
export const commands: Record<string, CommandEntry> = {
  spec: {
    summary: 'create a new specification file (config.json)',
    load: () => import('./commands/spec.ts'),
  },
  validate: {
    summary: 'check a config.json against the OCI runtime spec',
    load: () => import('./commands/validate.ts'),
  },
  ...registryCommands,
  ...imageCommands,
  ...unpackCommands,
  ...runtimeCommands,
  ...containersCommands,
  ...seccompCommands,
  ...cgroupsCommands,
  ...planCommands,
};
