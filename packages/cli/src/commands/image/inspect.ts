import { parsePlatform } from '@ctr/registry';
import { defineCommand } from '../../command.ts';
import { storeDetails, storeFrom, storeOption, usageError } from './shared.ts';

export default defineCommand({
  summary: 'print what the store knows about an image (JSON)',
  usage: 'inspect [--store DIR] [--platform OS/ARCH[/VARIANT]] REF|DIGEST',
  details: `Prints the manifest descriptor, manifest, config, layers, total size and the
platforms the image offers, as JSON. ${storeDetails}`,
  options: { ...storeOption, platform: { type: 'string' } },
  positionals: true,
  async run({ values, positionals }) {
    const [ref] = positionals;
    if (!ref || positionals.length !== 1) throw usageError(this.usage);
    const platform = values.platform !== undefined ? parsePlatform(values.platform as string) : undefined;
    const r = await storeFrom(values).inspect(ref, platform ? { platform } : {});
    const { index, ...rest } = r;
    const out = index ? { ...rest, index: index.descriptor } : rest;
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  },
});
