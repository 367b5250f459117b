import type { Command } from './command.ts';

/**
 * Every command, loaded only when called so `ctr --version` and each container
 * operation pay only for the modules they use. The packages that implement a
 * command own its logic; the modules here parse flags and print.
 */
export const commands: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  spec: {
    summary: 'create a new specification file (config.json)',
    load: () => import('./commands/spec.ts'),
  },
  validate: {
    summary: 'check a config.json against the OCI runtime spec',
    load: () => import('./commands/validate.ts'),
  },
};
