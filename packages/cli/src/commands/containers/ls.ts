import { ContainerRecords } from '@ctr/containers';
import { state } from '@ctr/runtime';
import { defineCommand } from '../../command.ts';

function age(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.round(s / 3600)} hours ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export default defineCommand({
  summary: 'list image-run containers',
  usage: 'ls [-a] [--format table|json] [-q]',
  details: 'Without -a only running (and created, paused) containers are listed.',
  options: {
    all: { type: 'boolean', short: 'a' },
    format: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  async run({ values, globals }) {
    const rows = new ContainerRecords().list().map((meta) => {
      let status = 'stopped';
      try {
        status = state({ root: globals.root, id: meta.id }).status;
      } catch {
        // No runtime state: never started, or already deleted.
      }
      return { ...meta, status };
    });
    const shown = values.all ? rows : rows.filter((r) => r.status !== 'stopped');
    if (values.quiet) {
      for (const r of shown) process.stdout.write(`${r.id.slice(0, 12)}\n`);
    } else if (values.format === 'json') {
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    } else {
      const table = [
        ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'],
        ...shown.map((r) => [
          r.id.slice(0, 12),
          r.image,
          r.command.join(' ').slice(0, 30),
          age(r.created),
          r.status,
          r.name,
        ]),
      ];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      for (const row of table)
        process.stdout.write(
          `${row
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd()}\n`,
        );
    }
    return 0;
  },
});
