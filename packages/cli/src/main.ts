import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { GlobalOptions } from './command.ts';
import { globalFlags, splitArgv } from './global-flags.ts';
import { logLine } from './log.ts';
import { flagsBeforePositional, parseCommandArgs } from './parse.ts';
import { commands } from './registry.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return `ctr version ${pkg.version}\nspec: 1.2.0\nnode: ${process.versions.node}\n`;
}

function usage(): string {
  const names = Object.keys(commands).sort();
  const width = Math.max(...names.map((n) => n.length));
  return `ctr: a security-focused OCI container runtime and image tool

Usage: ctr [global options] COMMAND [options] [arguments]

Commands:
${names.map((n) => `  ${n.padEnd(width)}  ${commands[n]!.summary}`).join('\n')}
  ${'help'.padEnd(width)}  show help for a command

Global options:
  --root DIR          state directory (default /run/ctr)
  --log FILE          write errors and debug lines to FILE (default stderr)
  --log-format FMT    text or json (default text)
  --debug             log debug lines
  --systemd-cgroup    use systemd cgroups (not supported yet)
  --rootless BOOL     ignore cgroup permission errors (true|false|auto)
  -v, --version       print the version
`;
}

export async function main(argv: string[]): Promise<number> {
  const { globalArgs, rest } = splitArgv(argv);
  let g: ReturnType<typeof parseArgs<{ options: typeof globalFlags; args: string[] }>>['values'];
  try {
    g = parseArgs({ args: globalArgs, options: globalFlags, strict: true }).values;
  } catch (e) {
    process.stderr.write(`ctr: ${(e as Error).message}\n`);
    return 2;
  }
  if (g.version) {
    process.stdout.write(version());
    return 0;
  }
  const logFormat = g['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') {
    process.stderr.write(`ctr: --log-format must be text or json, not ${logFormat}\n`);
    return 2;
  }
  const globals: GlobalOptions = {
    root: g.root ?? '/run/ctr',
    log: g.log,
    logFormat,
    debug: g.debug ?? false,
    systemdCgroup: g['systemd-cgroup'] ?? false,
    rootless: g.rootless,
  };
  const [name, ...args] = rest;
  if (g.help || name === undefined || (name === 'help' && args.length === 0)) {
    process.stdout.write(usage());
    return name === undefined && !g.help ? 2 : 0;
  }
  const helpFor =
    name === 'help'
      ? args[0]!
      : flagsBeforePositional(args).some((a) => a === '--help' || a === '-h')
        ? name
        : undefined;
  const entry = commands[helpFor ?? name];
  if (!entry) {
    // Logged as well: containerd's shim and conmon read the runtime's error from --log.
    logLine(globals, 'error', `unknown command "${helpFor ?? name}"`);
    process.stderr.write(`ctr: unknown command "${helpFor ?? name}"; see 'ctr help'\n`);
    return 2;
  }
  const command = (await entry.load()).default;
  if (helpFor) {
    process.stdout.write(
      `Usage: ctr ${command.usage}\n\n${command.summary}\n${command.details ? `\n${command.details}\n` : ''}`,
    );
    return 0;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseCommandArgs(command, args);
  } catch (e) {
    logLine(globals, 'error', `${name}: ${(e as Error).message}`);
    process.stderr.write(`ctr ${name}: ${(e as Error).message}\nUsage: ctr ${command.usage}\n`);
    return 2;
  }
  try {
    return await command.run({ ...parsed, globals });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    logLine(globals, 'error', msg);
    if (globals.debug && e instanceof Error && e.stack) logLine(globals, 'debug', e.stack);
    // runc prints the error on stderr as well as in the log, so a human sees it.
    if (globals.log || globals.logFormat !== 'json') process.stderr.write(`ctr: ${msg}\n`);
    return 1;
  }
}
