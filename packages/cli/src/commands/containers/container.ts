import type { Command } from '../../command.ts';
import { defineCommand } from '../../command.ts';
import { parseCommandArgs } from '../../parse.ts';

const subcommands: Record<string, () => Promise<{ default: Command }>> = {
  run: () => import('./run.ts'),
  ls: () => import('./ls.ts'),
  stop: () => import('./stop.ts'),
  rm: () => import('./rm.ts'),
  exec: () => import('./exec.ts'),
};

const list = `Subcommands:
  run IMAGE [COMMAND [ARG...]]   pull if missing, run it (--rm, -d, -it, -e, -v, --memory, ...)
  ls [-a]                        list image-run containers (alias: ps)
  stop NAME                      the image's StopSignal, then SIGKILL after --time seconds
  rm [-f] NAME...                remove containers and their roots
  exec NAME COMMAND [ARG...]     run a command in a running container (not available
                                 until the runtime can join a container)

'ctr container SUBCOMMAND --help' shows a subcommand's flags.`;

export default defineCommand({
  summary: 'podman-style: container run IMAGE, ls, stop, rm, exec (ctr run ID runs a bundle)',
  usage: 'container SUBCOMMAND [options] [arguments]',
  details: `Image-level commands for people, as podman and docker users expect them. The
runc-compatible \`ctr run <container-id>\` (a bundle in the current directory or
--bundle) is unchanged; \`ctr container run IMAGE\` is the image-level run.

${list}`,
  options: {},
  positionals: true,
  stopAtPositional: true,
  async run({ positionals, globals }) {
    const [name = 'help', ...rest] = positionals;
    const load = subcommands[name === 'ps' ? 'ls' : name];
    if (!load) {
      process.stdout.write(`Usage: ctr container SUBCOMMAND\n\n${list}\n`);
      return name === 'help' || name === '--help' || name === '-h' ? 0 : 2;
    }
    const command = (await load()).default;
    if (rest[0] === '--help' || rest[0] === '-h') {
      process.stdout.write(
        `Usage: ctr container ${command.usage}\n\n${command.summary}\n${command.details ?? ''}\n`,
      );
      return 0;
    }
    let parsed: ReturnType<typeof parseCommandArgs>;
    try {
      parsed = parseCommandArgs(command, rest);
    } catch (e) {
      process.stderr.write(
        `ctr container ${name}: ${(e as Error).message}\nUsage: ctr container ${command.usage}\n`,
      );
      return 2;
    }
    return command.run({ ...parsed, globals });
  },
});
