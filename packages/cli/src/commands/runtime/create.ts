import { create } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';
import { checkGlobals, containerId, createFlags, createOptions } from './shared.ts';

export default defineCommand({
  summary: 'create a container',
  usage: 'create [--bundle DIR] [--console-socket PATH] [--pid-file FILE] [--preserve-fds N] ID',
  details: `Sets the container up from the bundle's config.json and leaves its init waiting: the
program in process.args runs only at \`ctr start\`. --pid-file receives the init's pid.`,
  options: createFlags,
  positionals: true,
  async run({ values, positionals, globals }) {
    checkGlobals(globals);
    const id = containerId(positionals, this.usage);
    await create(createOptions(values, id, globals));
    return 0;
  },
});
