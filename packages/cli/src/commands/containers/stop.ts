import { ContainerRecords, stopContainer } from '@ctr/containers';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';

export default defineCommand({
  summary: "stop a container: its image's StopSignal, then SIGKILL after a timeout",
  usage: 'stop [-t SECONDS] NAME...',
  options: { time: { type: 'string', short: 't' } },
  positionals: true,
  async run({ values, positionals, globals }) {
    if (positionals.length === 0)
      throw new CtrError({ stage: 'cli', op: 'container stop', hint: 'name a container' });
    const seconds = Number(values.time ?? 10);
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new CtrError({
        stage: 'cli',
        op: `container stop -t ${values.time}`,
        hint: 'expected seconds to wait before SIGKILL, such as 10 or 0',
      });
    }
    const timeoutMs = seconds * 1000;
    const records = new ContainerRecords();
    for (const name of positionals) {
      await stopContainer(records.find(name), { runtimeRoot: globals.root, timeoutMs });
      process.stdout.write(`${name}\n`);
    }
    return 0;
  },
});
