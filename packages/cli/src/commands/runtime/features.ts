import { features } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';

export default defineCommand({
  summary: 'show what this runtime supports (runtime-spec features.json)',
  usage: 'features',
  options: {},
  async run() {
    process.stdout.write(`${JSON.stringify(features(), null, '    ')}\n`);
    return 0;
  },
});
