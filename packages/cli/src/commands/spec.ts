import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig, serializeJson } from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../command.ts';

export default defineCommand({
  summary: 'create a new specification file (config.json)',
  usage: 'spec [--bundle DIR] [--rootless]',
  details: `Writes config.json in the bundle directory (default: the current directory) with the
defaults runc uses: /bin/sh as the process, the default capabilities, masked and
read-only paths, new pid, ipc, uts and mount namespaces. --rootless adds a user
namespace mapping the caller's ids.`,
  options: {
    bundle: { type: 'string', short: 'b' },
    rootless: { type: 'boolean' },
  },
  async run({ values }) {
    const bundle = (values.bundle as string | undefined) ?? '.';
    const path = join(bundle, 'config.json');
    const config = defaultRuntimeConfig({ rootless: values.rootless === true });
    try {
      // 'wx': never overwrite an existing config.json, without a check-then-write race.
      // No trailing newline, as runc writes it: scripts that diff against runc's output match.
      writeFileSync(path, serializeJson(config, '\t'), { mode: 0o666, flag: 'wx' });
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new CtrError({
        stage: 'cli',
        op: 'write config.json',
        path,
        hint: code === 'EEXIST' ? 'File exists. Remove it first' : (cause as Error).message,
        cause,
      });
    }
    return 0;
  },
});
