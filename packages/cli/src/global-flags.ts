// ctr's global flags and the split of argv at the command, kept apart from main.ts so
// that bin.ts can look at argv before it loads the rest of the CLI.

export const globalFlags = {
  root: { type: 'string' },
  log: { type: 'string' },
  'log-format': { type: 'string' },
  debug: { type: 'boolean' },
  'systemd-cgroup': { type: 'boolean' },
  rootless: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** Splits argv into the global flags and the command with its own arguments. */
export function splitArgv(argv: string[]): { globalArgs: string[]; rest: string[] } {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const flag = argv[i]!.replace(/^--?/, '').split('=')[0]!;
    const def = (globalFlags as Record<string, { type: string }>)[flag];
    i += def?.type === 'string' && !argv[i]!.includes('=') ? 2 : 1;
  }
  return { globalArgs: argv.slice(0, i), rest: argv.slice(i) };
}

/**
 * Whether argv is a `run` that stays in the foreground, the one command that may use
 * the fast launcher. A guess from the words alone, before any parsing: a wrong yes
 * costs a Worker that is discarded, a wrong no only the head start.
 */
export function isForegroundRun(argv: string[]): boolean {
  const [name, ...args] = splitArgv(argv).rest;
  if (name !== 'run') return false;
  return !args.some((a) => a === '-d' || a === '--help' || a === '-h' || a.startsWith('--detach'));
}
