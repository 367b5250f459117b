import { start } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';
import { containerId, warner } from './shared.ts';

export default defineCommand({
  summary: 'start the user program of a created container',
  usage: 'start ID',
  options: {},
  positionals: true,
  async run({ positionals, globals }) {
    await start({ root: globals.root, id: containerId(positionals, this.usage), warn: warner(globals) });
    return 0;
  },
});
