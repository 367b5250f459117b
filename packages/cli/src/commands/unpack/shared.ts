import type { UnpackImageOptions } from '@ctr/containers';
import { parsePlatform } from '@ctr/registry';
import { CtrError } from '@ctr/sys';
import { pullReporter } from '../image/progress.ts';
import { storeDetails, storeFrom, storeOption } from '../image/shared.ts';
import { registryDetails, registryOptions } from '../registry/shared.ts';

/** Flags shared by `ctr unpack` and `ctr bundle`. */
export const unpackOptions = {
  ...storeOption,
  ...registryOptions,
  snapshots: { type: 'string' },
  platform: { type: 'string' },
  overlay: { type: 'boolean' },
  flat: { type: 'boolean' },
  id: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

export const unpackDetails = `--flat (the default) writes one plain directory, like umoci unpack. --overlay
unpacks each layer once into a snapshot keyed by its chain ID (under --snapshots,
default $CTR_SNAPSHOTS or /var/lib/ctr-snapshots) and mounts an overlayfs root with a
writable upper dir; --id names that root (see ctr snapshots). --platform picks
os/arch[/variant] from an index. A pull reports progress on stderr unless --quiet.
${storeDetails}
${registryDetails}`;

/** REF and DIR, and the store, pull and unpack options the flags ask for. */
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
  const store = storeFrom(values);
  const platform = typeof values.platform === 'string' ? values.platform : undefined;
  const certsDir = values['certs-dir'] as string[] | undefined;
  return {
    ref,
    dir,
    store,
    mode: values.overlay === true ? 'overlay' : 'flat',
    snapshotsDir: values.snapshots as string | undefined,
    id: values.id as string | undefined,
    platform: platform === undefined ? undefined : parsePlatform(platform),
    pull: (name, onEvent) => {
      const report = values.quiet === true ? undefined : pullReporter(process.stderr);
      return store.pull(name, {
        clientOptions: {
          plainHttp: values['plain-http'] === true,
          skipVerify: values['skip-verify'] === true,
          ...(certsDir?.length ? { certsDir } : {}),
        },
        ...(platform !== undefined ? { platform } : {}),
        onProgress: (e) => {
          report?.(e);
          onEvent(e);
        },
      });
    },
  };
}
