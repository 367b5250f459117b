import { runWithFastestLauncher } from '@ctr/runtime/run';
import { defineCommand } from '../../command.ts';
import { logLine } from '../../log.ts';
import { checkGlobals, containerId, createFlags, createOptions, warner } from './shared.ts';

export default defineCommand({
  summary: 'create and start a container',
  usage: 'run [--bundle DIR] [--detach] [--keep] [--no-subreaper] [--pid-file FILE] ID',
  details: `In the foreground, signals are forwarded to the container and ctr exits with its
status (128+signal when it was killed), then deletes it unless --keep.
Without hooks that need the create/start split, a terminal or --detach, ctr spawns the
program itself from a throw-away thread (one Node process); --debug says which launcher
ran the container and why.`,
  options: {
    ...createFlags,
    detach: { type: 'boolean', short: 'd' },
    keep: { type: 'boolean' },
    'no-subreaper': { type: 'boolean' },
  },
  positionals: true,
  async run({ values, positionals, globals }) {
    checkGlobals(globals);
    const id = containerId(positionals, this.usage);
    return runWithFastestLauncher({
      ...createOptions(values, id, globals),
      detach: values.detach === true,
      keep: values.keep === true,
      noSubreaper: values['no-subreaper'] === true,
      warn: warner(globals),
      onLauncher: (launcher, reason) =>
        logLine(globals, 'debug', `run: ${launcher} launcher${reason ? ` (${reason})` : ''}`),
    });
  },
});
