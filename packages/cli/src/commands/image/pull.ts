import { defineCommand } from '../../command.ts';
import { registryDetails, registryOptions } from '../registry/shared.ts';
import { pullReporter } from './progress.ts';
import { storeDetails, storeFrom, storeOption, usageError } from './shared.ts';

export default defineCommand({
  summary: 'pull an image from a registry into the image store',
  usage:
    'pull [--store DIR] [--platform OS/ARCH[/VARIANT]] [--concurrency N] [--quiet] [--plain-http] [--skip-verify] [--certs-dir DIR] REF',
  details: `Downloads the manifest for --platform (default: this host's), its config and layers,
--concurrency at a time (default 3), verifying every byte against its digest before it
enters the store, and names the image with the full reference. Blobs already in the
store are not downloaded again. Progress goes to stderr: bars on a terminal, one line
per event otherwise, nothing with --quiet. The ref and digest are printed on stdout.
${storeDetails}
${registryDetails}`,
  options: {
    ...storeOption,
    ...registryOptions,
    platform: { type: 'string' },
    concurrency: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  positionals: true,
  async run({ values, positionals }) {
    const [ref] = positionals;
    if (!ref || positionals.length !== 1) throw usageError(this.usage);
    const concurrency = values.concurrency === undefined ? 3 : Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError(this.usage);
    const certsDir = values['certs-dir'] as string[] | undefined;
    const record = await storeFrom(values).pull(ref, {
      concurrency,
      clientOptions: {
        plainHttp: values['plain-http'] === true,
        skipVerify: values['skip-verify'] === true,
        ...(certsDir?.length ? { certsDir } : {}),
      },
      ...(values.platform !== undefined ? { platform: values.platform as string } : {}),
      ...(values.quiet === true ? {} : { onProgress: pullReporter(process.stderr) }),
    });
    process.stdout.write(`${record.ref} ${record.digest}\n`);
    return 0;
  },
});
