import type { CommandEntry } from '../command.ts';

export const containersCommands: Record<string, CommandEntry> = {
  container: {
    summary: 'podman-style: container run IMAGE, ls, stop, rm, exec (ctr run ID runs a bundle)',
    load: () => import('../commands/containers/container.ts'),
  },
};
