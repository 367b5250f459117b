import { parseArgs } from 'node:util';
import type { Command, Options } from './command.ts';

/** The leading flags of an argument list: a `--help` after the image or program name is theirs. */
export function flagsBeforePositional(args: string[]): string[] {
  const i = args.findIndex((a) => !a.startsWith('-'));
  return i === -1 ? args : args.slice(0, i);
}

/** Parses a command's own flags and positionals (strictly: unknown flags are errors). */
export function parseCommandArgs(
  command: Command,
  args: string[],
): { values: Record<string, unknown>; positionals: string[] } {
  const [own, passed] = command.stopAtPositional ? splitAtPositional(args, command.options) : [args, []];
  const parsed = parseArgs({
    args: own,
    options: command.options,
    allowPositionals: command.positionals ?? false,
    strict: true,
  });
  return { values: parsed.values, positionals: [...parsed.positionals, ...passed] };
}

/** Splits a command's args at its first positional: [its options and that positional, the rest]. */
function splitAtPositional(args: string[], options: Options): [string[], string[]] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return [args.slice(0, i), args.slice(i + 1)];
    if (!a.startsWith('-') || a === '-') return [args.slice(0, i + 1), args.slice(i + 1)];
    if (a.includes('=')) continue;
    const name = a.startsWith('--') ? a.slice(2) : a.slice(1);
    const def = a.startsWith('--') ? options[name] : Object.values(options).find((o) => o.short === name);
    if (def?.type === 'string') i++;
  }
  return [args, []];
}
