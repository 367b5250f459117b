import type { CommandEntry } from '../command.ts';

export const cgroupsCommands: Record<string, CommandEntry> = {};
