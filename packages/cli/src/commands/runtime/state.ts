import { state } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';
import { containerId } from './shared.ts';

export default defineCommand({
  summary: 'output the state of a container (OCI state JSON)',
  usage: 'state ID',
  options: {},
  positionals: true,
  async run({ positionals, globals }) {
    const info = state({ root: globals.root, id: containerId(positionals, this.usage) });
    process.stdout.write(`${JSON.stringify(info, null, '  ')}\n`);
    return 0;
  },
});
