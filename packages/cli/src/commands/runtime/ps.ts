import { spawnSync } from 'node:child_process';
import { processes } from '@ctr/runtime';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';
import { containerId } from './shared.ts';

export default defineCommand({
  summary: 'list the processes running in a container',
  usage: 'ps [--format table|json] ID [-- PS_ARGS]',
  details:
    'json prints the host pids; table runs ps(1) with PS_ARGS (default -ef) and keeps its rows for those pids.',
  options: { format: { type: 'string', short: 'f' } },
  positionals: true,
  async run({ values, positionals, globals }) {
    const format = (values.format as string | undefined) ?? 'table';
    const pids = await processes({ root: globals.root, id: containerId(positionals, this.usage) });
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify(pids)}\n`);
      return 0;
    }
    if (format !== 'table')
      throw new CtrError({ stage: 'cli', op: `invalid format option ${format}`, hint: 'use table or json' });
    const psArgs = positionals.length > 1 ? positionals.slice(1) : ['-ef'];
    const ps = spawnSync('ps', psArgs, { encoding: 'utf8' });
    if (ps.status !== 0)
      throw new CtrError({ stage: 'cli', op: `ps ${psArgs.join(' ')}`, hint: ps.stderr.trim() });
    const [header, ...rows] = ps.stdout.split('\n');
    // Like runc: the PID column is found in the header and each row kept when its pid is in the container.
    const column = header!.trim().split(/\s+/).indexOf('PID');
    if (column < 0)
      throw new CtrError({ stage: 'cli', op: 'ps', hint: "couldn't find PID field in ps output" });
    const wanted = new Set(pids);
    process.stdout.write(`${header}\n`);
    for (const row of rows) {
      if (wanted.has(Number(row.trim().split(/\s+/)[column]))) process.stdout.write(`${row}\n`);
    }
    return 0;
  },
});
