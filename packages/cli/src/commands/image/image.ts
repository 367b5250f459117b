import { defineCommand } from '../../command.ts';
import { formatBytes, storeDetails, storeFrom, storeOption, usageError } from './shared.ts';

export default defineCommand({
  summary: 'image store maintenance (image gc|import|export)',
  usage: 'image [--store DIR] gc | import [--ref REF] FILE | export --output FILE REF...',
  details: `gc removes every blob no name reaches (and temp files of interrupted pulls).
import reads an oci-archive or a docker save tarball (gzipped or not); --ref names
the image of a single-image archive. export writes the named images to one tarball
that skopeo reads as oci-archive: and docker-archive:, and docker load reads.
${storeDetails}`,
  options: { ...storeOption, ref: { type: 'string' }, output: { type: 'string', short: 'o' } },
  positionals: true,
  async run({ values, positionals }) {
    const [sub, ...args] = positionals;
    const store = storeFrom(values);
    switch (sub) {
      case 'gc': {
        if (args.length) throw usageError(this.usage);
        const { removed, bytesFreed } = await store.gc();
        process.stdout.write(`removed ${removed.length} blobs, freed ${formatBytes(bytesFreed)}\n`);
        return 0;
      }
      case 'import': {
        const [file] = args;
        if (!file || args.length !== 1) throw usageError(this.usage);
        const images = await store.importArchive(
          file,
          values.ref !== undefined ? { ref: values.ref as string } : {},
        );
        for (const i of images) process.stdout.write(`${i.ref ?? '<none>'} ${i.descriptor.digest}\n`);
        return 0;
      }
      case 'export': {
        const output = values.output as string | undefined;
        if (!output || args.length === 0) throw usageError(this.usage);
        await store.exportArchive(args, output);
        return 0;
      }
      default:
        throw usageError(this.usage);
    }
  },
});
