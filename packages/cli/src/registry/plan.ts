import type { CommandEntry } from '../command.ts';

export const planCommands: Record<string, CommandEntry> = {
  plan: {
    summary: 'print what every stage will do to start a bundle, without doing it',
    load: () => import('../commands/plan.ts'),
  },
};
