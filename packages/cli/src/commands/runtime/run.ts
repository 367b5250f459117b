import { run } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';
import { checkGlobals, containerId, createFlags, createOptions, warner } from './shared.ts';

export default defineCommand({
  summary: 'create and start a container',
  usage: 'run [--bundle DIR] [--detach] [--keep] [--no-subreaper] [--pid-file FILE] ID',
  details: `In the foreground, signals are forwarded to the container and ctr exits with its
status (128+signal when it was killed), then deletes it unless --keep.`,
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
    return run({
      ...createOptions(values, id, globals),
      detach: values.detach === true,
      keep: values.keep === true,
      noSubreaper: values['no-subreaper'] === true,
      warn: warner(globals),
    });
  },
});
