import type { CommandEntry } from '../command.ts';

export const unpackCommands: Record<string, CommandEntry> = {};
