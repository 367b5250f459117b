import type { CommandEntry } from '../command.ts';

export const registryCommands: Record<string, CommandEntry> = {
  tags: {
    summary: 'list the tags of a repository in a registry',
    load: () => import('../commands/registry/tags.ts'),
  },
  manifest: {
    summary: 'print the manifest of an image in a registry',
    load: () => import('../commands/registry/manifest.ts'),
  },
};
