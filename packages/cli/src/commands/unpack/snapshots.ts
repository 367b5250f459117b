import { defaultSnapshotsDir } from '@ctr/containers';
import { CtrError } from '@ctr/sys';
import { SnapshotStore } from '@ctr/unpack';
import { defineCommand } from '../../command.ts';

export default defineCommand({
  summary: 'list, collect and unmount overlay snapshots (ls | gc | umount)',
  usage: 'snapshots [--snapshots DIR] ls | gc | umount ID DIR',
  details: `ls prints every snapshot (chain ID) with its reference count, then every holder.
gc removes snapshots no image or container root holds. umount unmounts the overlay
root ID (as named by ctr unpack --overlay --id) from DIR and drops its upper dir.
--snapshots defaults to $CTR_SNAPSHOTS or /var/lib/ctr-snapshots.`,
  options: { snapshots: { type: 'string' } },
  positionals: true,
  async run({ values, positionals }) {
    const [sub, id, dir, ...rest] = positionals;
    const store = new SnapshotStore((values.snapshots as string | undefined) ?? defaultSnapshotsDir());
    if (sub === 'ls' && id === undefined) {
      for (const key of store.list()) process.stdout.write(`${key}\t${store.refcount(key)}\n`);
      for (const [holder, keys] of store.holders())
        process.stdout.write(`${holder}\t${keys.length} snapshots\n`);
      return 0;
    }
    if (sub === 'gc' && id === undefined) {
      for (const key of store.gc()) process.stdout.write(`removed ${key}\n`);
      return 0;
    }
    if (sub === 'umount' && id !== undefined && dir !== undefined && rest.length === 0) {
      store.unmountRoot(id, dir);
      return 0;
    }
    throw new CtrError({ stage: 'cli', op: 'parse arguments', hint: `usage: ctr ${this.usage}` });
  },
});
