import { ContainerRecords, removeContainer } from '@ctr/containers';
import { state } from '@ctr/runtime';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';

export default defineCommand({
  summary: 'remove containers and their roots',
  usage: 'rm [-f] NAME...',
  details: '-f stops a running container first (SIGKILL).',
  options: { force: { type: 'boolean', short: 'f' } },
  positionals: true,
  async run({ values, positionals, globals }) {
    if (positionals.length === 0)
      throw new CtrError({ stage: 'cli', op: 'container rm', hint: 'name a container' });
    const records = new ContainerRecords();
    for (const name of positionals) {
      const meta = records.find(name);
      let status = 'stopped';
      try {
        status = state({ root: globals.root, id: meta.id }).status;
      } catch {
        // No runtime state left: only the root and record remain.
      }
      if (status !== 'stopped' && !values.force) {
        throw new CtrError({
          stage: 'containers',
          op: `remove ${name}`,
          hint: `it is ${status}; stop it first or use rm -f`,
        });
      }
      await removeContainer(meta, { records, runtimeRoot: globals.root });
      process.stdout.write(`${name}\n`);
    }
    return 0;
  },
});
