import type { CommandEntry } from '../command.ts';

export const runtimeCommands: Record<string, CommandEntry> = {};
