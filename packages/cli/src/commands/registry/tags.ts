import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';
import { clientFrom, registryDetails, registryOptions } from './shared.ts';

export default defineCommand({
  summary: 'list the tags of a repository in a registry',
  usage: 'tags [--plain-http] [--skip-verify] [--certs-dir DIR] REPOSITORY',
  details: `Prints one tag per line. REPOSITORY is a reference without tag
(localhost:5000/app, alpine). ${registryDetails}`,
  options: registryOptions,
  positionals: true,
  async run({ values, positionals }) {
    const [repo] = positionals;
    if (!repo || positionals.length !== 1) {
      throw new CtrError({ stage: 'cli', op: 'parse arguments', hint: `usage: ctr ${this.usage}` });
    }
    const client = clientFrom(values);
    try {
      for (const tag of await client.listTags(repo)) process.stdout.write(`${tag}\n`);
    } finally {
      await client.close();
    }
    return 0;
  },
});
