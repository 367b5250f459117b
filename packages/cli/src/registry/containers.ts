import type { CommandEntry } from '../command.ts';

export const containersCommands: Record<string, CommandEntry> = {
  container: {
    summary: 'run images as containers, podman-style (container run|ls|stop|rm|exec)',
    load: () => import('../commands/containers/container.ts'),
  },
};
