import { ContainerRecords, execContainer } from '@ctr/containers';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';

export default defineCommand({
  summary: 'run a command inside a running image-run container (waits for the runtime exec)',
  usage: 'exec NAME COMMAND [ARG...]',
  details: 'NAME is a container name, id or unique id prefix (see ctr container ls).',
  options: {},
  positionals: true,
  stopAtPositional: true,
  async run({ positionals, globals }) {
    const [name, ...args] = positionals;
    if (!name) throw new CtrError({ stage: 'cli', op: 'container exec', hint: 'name a container' });
    const meta = new ContainerRecords().find(name);
    return execContainer(meta, { runtimeRoot: globals.root, args });
  },
});
