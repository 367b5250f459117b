import { defineCommand } from '../../command.ts';
import { storeDetails, storeFrom, storeOption, usageError } from './shared.ts';

export default defineCommand({
  summary: 'give a stored image another name',
  usage: 'tag [--store DIR] SOURCE TARGET',
  details: `SOURCE is a reference or a manifest digest in the store; TARGET replaces whatever it
named before. ${storeDetails}`,
  options: { ...storeOption },
  positionals: true,
  async run({ values, positionals }) {
    const [src, dst] = positionals;
    if (!src || !dst || positionals.length !== 2) throw usageError(this.usage);
    await storeFrom(values).tag(src, dst);
    return 0;
  },
});
