import type { CommandEntry } from '../command.ts';

export const planCommands: Record<string, CommandEntry> = {};
