import { defineCommand } from '../../command.ts';
import { clientFrom, registryDetails, registryOptions } from '../registry/shared.ts';
import { storeDetails, storeFrom, storeOption, usageError } from './shared.ts';

export default defineCommand({
  summary: 'push an image from the image store to a registry',
  usage: 'push [--store DIR] [--quiet] [--plain-http] [--skip-verify] [--certs-dir DIR] REF [TARGET]',
  details: `Uploads the blobs the registry lacks (re-verified as they leave the store), then the
manifest, under TARGET (default REF). ${storeDetails}
${registryDetails}`,
  options: { ...storeOption, ...registryOptions, quiet: { type: 'boolean', short: 'q' } },
  positionals: true,
  async run({ values, positionals }) {
    const [ref, target] = positionals;
    if (!ref || positionals.length > 2) throw usageError(this.usage);
    const client = clientFrom(values);
    try {
      const pushed = await storeFrom(values).push(ref, target ?? ref, {
        client,
        ...(values.quiet === true
          ? {}
          : {
              onProgress: (e) => {
                if (e.type === 'blob-done') process.stderr.write(`${e.result} ${e.digest}\n`);
              },
            }),
      });
      process.stdout.write(`${target ?? ref} ${pushed.digest}\n`);
    } finally {
      await client.close();
    }
    return 0;
  },
});
