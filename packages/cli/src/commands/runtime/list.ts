import { list } from '@ctr/runtime';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';

export default defineCommand({
  summary: 'list the containers under --root',
  usage: 'list [--format table|json] [--quiet]',
  options: { format: { type: 'string', short: 'f' }, quiet: { type: 'boolean', short: 'q' } },
  async run({ values, globals }) {
    const format = (values.format as string | undefined) ?? 'table';
    if (format !== 'table' && format !== 'json') {
      throw new CtrError({ stage: 'cli', op: `invalid format option ${format}`, hint: 'use table or json' });
    }
    const containers = list({ root: globals.root });
    if (values.quiet) {
      for (const c of containers) process.stdout.write(`${c.id}\n`);
    } else if (format === 'json') {
      process.stdout.write(`${JSON.stringify(containers)}\n`);
    } else {
      const rows = [
        ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
        ...containers.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, c.owner || 'root']),
      ];
      // runc's tabwriter: columns padded to the widest cell plus a minimum gap.
      const widths = rows[0]!.map((_, i) => Math.max(12, ...rows.map((r) => r[i]!.length + 1)));
      for (const r of rows)
        process.stdout.write(
          `${r
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join('')
            .trimEnd()}\n`,
        );
    }
    return 0;
  },
});
