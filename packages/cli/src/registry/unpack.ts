import type { CommandEntry } from '../command.ts';

export const unpackCommands: Record<string, CommandEntry> = {
  unpack: {
    summary: 'unpack an image into a root filesystem directory',
    load: () => import('../commands/unpack/unpack.ts'),
  },
  bundle: {
    summary: 'create an OCI bundle (rootfs and config.json) from an image',
    load: () => import('../commands/unpack/bundle.ts'),
  },
  snapshots: {
    summary: 'list, collect and unmount overlay snapshots (ls | gc | umount)',
    load: () => import('../commands/unpack/snapshots.ts'),
  },
};
