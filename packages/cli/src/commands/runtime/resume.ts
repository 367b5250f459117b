import { resume } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';
import { containerId } from './shared.ts';

export default defineCommand({
  summary: 'resume a paused container',
  usage: 'resume ID',
  options: {},
  positionals: true,
  async run({ positionals, globals }) {
    await resume({ root: globals.root, id: containerId(positionals, this.usage) });
    return 0;
  },
});
