import { kill } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';
import { containerId } from './shared.ts';

export default defineCommand({
  summary: 'send a signal to a container (default SIGTERM)',
  usage: 'kill [--all] ID [SIGNAL]',
  details: 'SIGNAL is a name (TERM, SIGKILL) or a number.',
  options: { all: { type: 'boolean', short: 'a' } },
  positionals: true,
  async run({ values, positionals, globals }) {
    await kill({
      root: globals.root,
      id: containerId(positionals, this.usage),
      signal: positionals[1] ?? 'SIGTERM',
      all: values.all === true,
    });
    return 0;
  },
});
