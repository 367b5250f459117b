import { pause } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';
import { containerId } from './shared.ts';

export default defineCommand({
  summary: 'suspend every process of a container (cgroup freezer)',
  usage: 'pause ID',
  options: {},
  positionals: true,
  async run({ positionals, globals }) {
    await pause({ root: globals.root, id: containerId(positionals, this.usage) });
    return 0;
  },
});
