import type { CommandEntry } from '../command.ts';

export const imageCommands: Record<string, CommandEntry> = {};
