import type { ParseArgsConfig } from 'node:util';

/** Flags every command accepts before its name (runc's global flags). */
export interface GlobalOptions {
  /** Directory of container state (runc --root). */
  root: string;
  /** Where error and debug lines go (runc --log); stderr when unset. */
  log: string | undefined;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string | undefined;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** One `ctr` command: flags, help text and the call into the package that does the work. */
export interface Command<O extends Options = Options> {
  /** One line for `ctr help`. */
  summary: string;
  /** The usage line after `ctr <name>`. */
  usage: string;
  /** Extra help: what the flags mean. */
  details?: string;
  options: O;
  /** Whether positional arguments are accepted. */
  positionals?: boolean;
  /**
   * Options end at the first positional argument; everything after it is passed on
   * untouched (`ctr container run IMAGE ls -l`, `ctr exec ID sh -c …`).
   */
  stopAtPositional?: boolean;
  /** Exit status of the command. */
  run(args: {
    values: Record<string, unknown>;
    positionals: string[];
    globals: GlobalOptions;
  }): Promise<number>;
}

export const defineCommand = <O extends Options>(c: Command<O>): Command<O> => c;

/** A command as listed in the registry: its help line and a lazy loader. */
export interface CommandEntry {
  summary: string;
  load: () => Promise<{ default: Command }>;
}
