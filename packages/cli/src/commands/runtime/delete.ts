import { deleteContainer } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';
import { containerId, warner } from './shared.ts';

export default defineCommand({
  summary: 'delete a container and everything it holds',
  usage: 'delete [--force] ID',
  details: '--force kills a running container first and succeeds when the container does not exist.',
  options: { force: { type: 'boolean', short: 'f' } },
  positionals: true,
  async run({ values, positionals, globals }) {
    await deleteContainer({
      root: globals.root,
      id: containerId(positionals, this.usage),
      force: values.force === true,
      warn: warner(globals),
    });
    return 0;
  },
});
