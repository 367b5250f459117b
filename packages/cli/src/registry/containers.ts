import type { CommandEntry } from '../command.ts';

export const containersCommands: Record<string, CommandEntry> = {};
