import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ParseResult,
  parseDescriptor,
  parseFeatures,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseOciLayout,
  parseRuntimeConfig,
  parseState,
} from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../command.ts';

const parsers: Record<string, (input: unknown) => ParseResult<unknown>> = {
  config: parseRuntimeConfig,
  state: parseState,
  features: parseFeatures,
  index: parseImageIndex,
  manifest: parseImageManifest,
  'image-config': parseImageConfig,
  descriptor: parseDescriptor,
  'oci-layout': parseOciLayout,
};

export default defineCommand({
  summary: 'check a config.json against the OCI runtime spec',
  usage: 'validate [--bundle DIR | FILE] [--kind KIND]',
  details: `Exits 0 when the document is valid; otherwise prints every error with its JSON path.
--kind selects the document type: ${Object.keys(parsers).join(', ')} (default config).`,
  options: { bundle: { type: 'string', short: 'b' }, kind: { type: 'string' } },
  positionals: true,
  async run({ values, positionals }) {
    const kind = (values.kind as string | undefined) ?? 'config';
    const parse = parsers[kind];
    if (!parse) {
      throw new CtrError({
        stage: 'cli',
        op: `validate --kind ${kind}`,
        hint: `unknown kind; use one of ${Object.keys(parsers).join(', ')}`,
      });
    }
    let path = positionals[0] ?? join((values.bundle as string | undefined) ?? '.', 'config.json');
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) path = join(path, 'config.json');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new CtrError({ stage: 'cli', op: 'read', path, hint: (cause as Error).message, cause });
    }
    const result = parse(text);
    if (result.ok) {
      process.stdout.write(`${path}: valid\n`);
      return 0;
    }
    for (const issue of result.errors) process.stderr.write(`${path}: ${issue.path}: ${issue.message}\n`);
    return 1;
  },
});
