import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';
import { clientFrom, registryDetails, registryOptions } from './shared.ts';

export default defineCommand({
  summary: 'print the manifest of an image in a registry',
  usage:
    'manifest [--platform OS/ARCH[/VARIANT]] [--index] [--plain-http] [--skip-verify] [--certs-dir DIR] REF',
  details: `Prints the manifest bytes exactly as the registry stored them, after checking them
against their digest. Without --index, an index is resolved to the manifest of
--platform (default: this host's); with --index the top-level object is printed as is.
The digest goes to stderr. ${registryDetails}`,
  options: { ...registryOptions, platform: { type: 'string' }, index: { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals }) {
    const [ref] = positionals;
    if (!ref || positionals.length !== 1) {
      throw new CtrError({ stage: 'cli', op: 'parse arguments', hint: `usage: ctr ${this.usage}` });
    }
    const client = clientFrom(values);
    try {
      const got =
        values.index === true
          ? await client.fetchManifest(ref)
          : await client.getManifest(
              ref,
              values.platform !== undefined ? { platform: values.platform as string } : {},
            );
      process.stdout.write(got.bytes);
      process.stdout.write('\n');
      process.stderr.write(`${got.descriptor.digest}\n`);
    } finally {
      await client.close();
    }
    return 0;
  },
});
