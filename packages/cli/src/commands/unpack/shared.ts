import type { UnpackImageOptions } from '@ctr/containers';
import { openStore } from '@ctr/image';
import { parsePlatform } from '@ctr/registry';
import { CtrError } from '@ctr/sys';

/** Flags shared by `ctr unpack` and `ctr bundle`. */
export const unpackOptions = {
  store: { type: 'string' },
  snapshots: { type: 'string' },
  platform: { type: 'string' },
  overlay: { type: 'boolean' },
  flat: { type: 'boolean' },
  id: { type: 'string' },
} as const;

export const unpackDetails = `--flat (the default) writes one plain directory, like umoci unpack. --overlay
unpacks each layer once into a snapshot keyed by its chain ID (under --snapshots,
default $CTR_SNAPSHOTS or /var/lib/ctr-snapshots) and mounts an overlayfs root with a
writable upper dir; --id names that root. --store is the image store (default
$CTR_STORE or /var/lib/ctr); --platform picks os/arch[/variant] from an index.`;

/** REF and DIR, and the store and unpack options the flags ask for. */
export function unpackArgs(
  values: Record<string, unknown>,
  positionals: string[],
  usage: string,
): Omit<UnpackImageOptions, 'target'> & { dir: string } {
  const [ref, dir, ...rest] = positionals;
  if (ref === undefined || dir === undefined || rest.length > 0) {
    throw new CtrError({ stage: 'cli', op: 'parse arguments', hint: `usage: ctr ${usage}` });
  }
  if (values.overlay === true && values.flat === true) {
    throw new CtrError({
      stage: 'cli',
      op: 'parse arguments',
      hint: '--overlay and --flat exclude each other',
    });
  }
  return {
    ref,
    dir,
    store: openStore(values.store as string | undefined),
    mode: values.overlay === true ? 'overlay' : 'flat',
    snapshotsDir: values.snapshots as string | undefined,
    id: values.id as string | undefined,
    platform: typeof values.platform === 'string' ? parsePlatform(values.platform) : undefined,
  };
}
