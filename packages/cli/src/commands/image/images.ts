import { formatPlatform } from '@ctr/registry';
import { defineCommand } from '../../command.ts';
import {
  formatBytes,
  shortDigest,
  storeDetails,
  storeFrom,
  storeOption,
  table,
  usageError,
} from './shared.ts';

export default defineCommand({
  summary: 'list the images in the image store',
  usage: 'images [--store DIR] [--format table|json] [--quiet]',
  details: `One row per name: reference, manifest digest, platform, size (compressed, as stored)
and creation time. --format json prints the records as a JSON array; --quiet only the
references. ${storeDetails}`,
  options: { ...storeOption, format: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } },
  async run({ values }) {
    const format = (values.format as string | undefined) ?? 'table';
    if (format !== 'table' && format !== 'json') throw usageError(this.usage);
    const records = await storeFrom(values).list();
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    } else if (values.quiet === true) {
      process.stdout.write(records.map((r) => `${r.ref}\n`).join(''));
    } else {
      process.stdout.write(
        table(
          ['REF', 'DIGEST', 'PLATFORM', 'SIZE', 'CREATED'],
          records.map((r) => [
            r.ref,
            shortDigest(r.digest),
            r.platform ? formatPlatform(r.platform) : '-',
            formatBytes(r.size),
            r.created ?? '-',
          ]),
        ),
      );
    }
    return 0;
  },
});
