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
    const timeoutMs = Number(values.time ?? 10) * 1000;
    const records = new ContainerRecords();
    for (const name of positionals) {
      await stopContainer(records.find(name), { runtimeRoot: globals.root, timeoutMs });
      process.stdout.write(`${name}\n`);
    }
    return 0;
  },
});
