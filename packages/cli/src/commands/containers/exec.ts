import { ContainerRecords, execContainer } from '@ctr/containers';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';

export default defineCommand({
  summary: 'run a command inside a running image-run container',
  usage: 'exec [-i] [-t] [-e K=V] [-w DIR] [-u UID[:GID]] NAME COMMAND [ARG...]',
  details: `NAME is a container name, id or unique id prefix (see ctr container ls).
ctr exits with the command's status (128+signal when it was killed).`,
  options: {
    env: { type: 'string', short: 'e', multiple: true },
    workdir: { type: 'string', short: 'w' },
    user: { type: 'string', short: 'u' },
    interactive: { type: 'boolean', short: 'i' },
    tty: { type: 'boolean', short: 't' },
  },
  positionals: true,
  stopAtPositional: true,
  async run({ values, positionals, globals }) {
    const [name, ...args] = positionals;
    if (!name) throw new CtrError({ stage: 'cli', op: 'container exec', hint: 'name a container' });
    const meta = new ContainerRecords().find(name);
    return execContainer(meta, {
      runtimeRoot: globals.root,
      args,
      env: values.env as string[] | undefined,
      workdir: values.workdir as string | undefined,
      user: values.user as string | undefined,
      interactive: values.interactive === true,
      tty: values.tty === true,
      // ctr exits right after: its own thread can be the one sacrificed to the namespaces.
      launchOn: 'calling-thread',
    });
  },
});
