import { unpackImage } from '@ctr/containers';
import { defineCommand } from '../../command.ts';
import { unpackArgs, unpackDetails, unpackOptions } from './shared.ts';

export default defineCommand({
  summary: 'unpack an image into a root filesystem directory',
  usage:
    'unpack [--flat|--overlay] [--store DIR] [--snapshots DIR] [--platform P] [--id ID] [--quiet] [--plain-http] [--skip-verify] [--certs-dir DIR] REF DIR',
  details: `Writes the root filesystem of image REF (pulled first when it is not in the store) to
DIR. Every layer is checked against the image config's diff_ids; nothing is written
outside DIR. ${unpackDetails}`,
  options: unpackOptions,
  positionals: true,
  async run({ values, positionals }) {
    const { dir, ...opts } = unpackArgs(values, positionals, this.usage);
    const res = await unpackImage({ ...opts, target: dir });
    if (res.mount) process.stdout.write(`overlay root ${res.id} mounted on ${res.rootfs}\n`);
    return 0;
  },
});
