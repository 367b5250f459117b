import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuntimeConfig } from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../command.ts';

export default defineCommand({
  summary: 'check a config.json against the OCI runtime spec',
  usage: 'validate [--bundle DIR | FILE]',
  details: 'Exits 0 when the configuration is valid; otherwise prints every error with its JSON path.',
  options: { bundle: { type: 'string', short: 'b' } },
  positionals: true,
  async run({ values, positionals }) {
    let path = positionals[0] ?? join((values.bundle as string | undefined) ?? '.', 'config.json');
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) path = join(path, 'config.json');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new CtrError({ stage: 'cli', op: 'read', path, hint: (cause as Error).message, cause });
    }
    const result = parseRuntimeConfig(text);
    if (result.ok) {
      process.stdout.write(`${path}: valid\n`);
      return 0;
    }
    for (const issue of result.errors) process.stderr.write(`${path}: ${issue.path}: ${issue.message}\n`);
    return 1;
  },
});
