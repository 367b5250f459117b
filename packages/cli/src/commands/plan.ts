import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatNamespacesPlan, planNamespaces, readNamespacesHost } from '@ctr/namespaces';
import { formatRootfsPlan, planRootfs, readHostCgroups } from '@ctr/rootfs';
import { planLaterStages } from '@ctr/runtime';
import { parseRuntimeConfig } from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../command.ts';

export default defineCommand({
  summary: 'print what every stage will do to start a bundle, without doing it',
  usage: 'plan [--bundle DIR] [--no-pivot]',
  details: `Reads config.json of the bundle (default: the current directory) and prints the
operations of each stage in the order they run, one per line, for review.
--no-pivot plans MS_MOVE + chroot instead of pivot_root.`,
  options: {
    bundle: { type: 'string', short: 'b' },
    'no-pivot': { type: 'boolean' },
  },
  async run({ values }) {
    const bundle = resolve((values.bundle as string | undefined) ?? '.');
    const path = join(bundle, 'config.json');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new CtrError({ stage: 'cli', op: 'read', path, hint: (cause as Error).message, cause });
    }
    const parsed = parseRuntimeConfig(text);
    if (!parsed.ok) {
      for (const issue of parsed.errors) process.stderr.write(`${path}: ${issue.path}: ${issue.message}\n`);
      return 1;
    }
    const config = parsed.value;
    const stages: [string, string[]][] = [
      ['namespaces', formatNamespacesPlan(planNamespaces(config, readNamespacesHost()))],
      [
        'rootfs',
        formatRootfsPlan(
          planRootfs(config, {
            bundleDir: bundle,
            noPivot: values['no-pivot'] === true,
            cgroups: readHostCgroups(),
          }),
        ),
      ],
      ...planLaterStages(config).map((s): [string, string[]] => [s.stage, s.lines]),
    ];
    for (const [stage, lines] of stages) {
      process.stdout.write(`${stage}:\n${lines.map((l) => `  ${l}\n`).join('')}`);
    }
    return 0;
  },
});
