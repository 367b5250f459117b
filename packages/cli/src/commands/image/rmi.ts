import { defineCommand } from '../../command.ts';
import { storeDetails, storeFrom, storeOption, usageError } from './shared.ts';

export default defineCommand({
  summary: 'remove image names from the image store',
  usage: 'rmi [--store DIR] [--gc] REF...',
  details: `Removes each name. Blobs stay until 'ctr image gc' (or --gc, which runs it
right after). ${storeDetails}`,
  options: { ...storeOption, gc: { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals }) {
    if (positionals.length === 0) throw usageError(this.usage);
    const store = storeFrom(values);
    for (const ref of positionals) {
      const removed = await store.removeRef(ref);
      process.stdout.write(`untagged ${ref} ${removed.digest}\n`);
    }
    if (values.gc === true) {
      const { removed, bytesFreed } = await store.gc();
      process.stdout.write(`removed ${removed.length} blobs, ${bytesFreed} bytes\n`);
    }
    return 0;
  },
});
