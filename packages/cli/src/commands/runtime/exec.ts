import { exec, execProcessFrom, loadProcessFile } from '@ctr/runtime';
import type { Process } from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';
import { checkGlobals, containerId, parsePreserveFds } from './shared.ts';

export default defineCommand({
  summary: 'run a new process inside a created or running container',
  usage:
    'exec [--process FILE] [--detach] [--pid-file FILE] [--cwd DIR] [--env K=V] [--user UID[:GID]] ID [COMMAND ARGS...]',
  details: `With --process FILE the process (a runtime-spec "process" object) comes from FILE;
otherwise it is the container's own process with COMMAND ARGS and the flags applied.
In the foreground, signals are forwarded and ctr exits with the process's status
(128+signal when it was killed); with --detach it returns once the process runs.`,
  options: {
    process: { type: 'string', short: 'p' },
    tty: { type: 'boolean', short: 't' },
    'console-socket': { type: 'string' },
    cwd: { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    user: { type: 'string', short: 'u' },
    'additional-gids': { type: 'string', short: 'g', multiple: true },
    cap: { type: 'string', short: 'c', multiple: true },
    'no-new-privs': { type: 'boolean' },
    detach: { type: 'boolean', short: 'd' },
    'pid-file': { type: 'string' },
    'preserve-fds': { type: 'string' },
  },
  positionals: true,
  stopAtPositional: true,
  async run({ values, positionals, globals }) {
    checkGlobals(globals);
    const id = containerId(positionals, this.usage);
    const path = values.process as string | undefined;
    const proc = path
      ? loadProcessFile(path)
      : (base: Process) =>
          execProcessFrom(base, {
            args: positionals.slice(1),
            env: values.env as string[] | undefined,
            cwd: values.cwd as string | undefined,
            user: values.user as string | undefined,
            additionalGids: ((values['additional-gids'] as string[] | undefined) ?? []).map(gid),
            caps: values.cap as string[] | undefined,
            noNewPrivileges: values['no-new-privs'] === true,
            tty: values.tty === true,
          });
    const r = await exec({
      root: globals.root,
      id,
      process: proc,
      detach: values.detach === true,
      pidFile: values['pid-file'] as string | undefined,
      consoleSocket: values['console-socket'] as string | undefined,
      preserveFds: parsePreserveFds(values['preserve-fds'] as string | undefined),
      // ctr exits right after: its own thread can be the one sacrificed to the namespaces.
      launchOn: 'calling-thread',
    });
    return r.status ?? 0;
  },
});

function gid(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new CtrError({ stage: 'cli', op: `invalid --additional-gids ${text}`, hint: 'a numeric group id' });
  }
  return n;
}
