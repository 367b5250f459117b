import { createBundle } from '@ctr/containers';
import { defineCommand } from '../../command.ts';
import { unpackArgs, unpackDetails, unpackOptions } from './shared.ts';

export default defineCommand({
  summary: 'create an OCI bundle (rootfs and config.json) from an image',
  usage:
    'bundle [--rootless] [--flat|--overlay] [--store DIR] [--snapshots DIR] [--platform P] [--id ID] [--quiet] [--plain-http] [--skip-verify] [--certs-dir DIR] REF DIR',
  details: `Unpacks image REF (pulled first when it is not in the store) into DIR/rootfs and
writes DIR/config.json from the image config (Entrypoint, Cmd, Env, WorkingDir, User)
on the defaults of \`ctr spec\`; --rootless uses the rootless defaults. ${unpackDetails}`,
  options: { ...unpackOptions, rootless: { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals }) {
    const opts = unpackArgs(values, positionals, this.usage);
    const res = await createBundle({ ...opts, rootless: values.rootless === true });
    if (res.unpacked.mount)
      process.stdout.write(`overlay root ${res.unpacked.id} mounted on ${res.rootfs}\n`);
    return 0;
  },
});
