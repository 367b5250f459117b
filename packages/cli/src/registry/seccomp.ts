import type { CommandEntry } from '../command.ts';

export const seccompCommands: Record<string, CommandEntry> = {};
