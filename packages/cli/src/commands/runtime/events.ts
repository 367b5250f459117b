import { stats } from '@ctr/runtime';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';
import { containerId } from './shared.ts';

export default defineCommand({
  summary: 'display container statistics (--stats once, or every --interval)',
  usage: 'events [--stats] [--interval DURATION] ID',
  details:
    'Prints runc-style {"type":"stats","id":…,"data":…} lines; --interval takes seconds ("5s", "500ms", "2").',
  options: { stats: { type: 'boolean' }, interval: { type: 'string' } },
  positionals: true,
  async run({ values, positionals, globals }) {
    const id = containerId(positionals, this.usage);
    const once = async () =>
      process.stdout.write(
        `${JSON.stringify({ type: 'stats', id, data: await stats({ root: globals.root, id }) })}\n`,
      );
    if (values.stats) {
      await once();
      return 0;
    }
    const text = (values.interval as string | undefined) ?? '5s';
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
    if (!m)
      throw new CtrError({
        stage: 'cli',
        op: `invalid --interval ${text}`,
        hint: 'a duration like 5s or 500ms',
      });
    const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
    for (;;) {
      await once();
      await new Promise((r) => setTimeout(r, ms));
    }
  },
});
