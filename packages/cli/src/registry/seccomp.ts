import type { CommandEntry } from '../command.ts';

export const seccompCommands: Record<string, CommandEntry> = {
  seccomp: {
    summary: 'compile, disassemble and query OCI seccomp profiles (compile | check)',
    load: () => import('../commands/seccomp/seccomp.ts'),
  },
};
