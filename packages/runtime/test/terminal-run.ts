// `run` as a one-shot CLI calls it, for the terminal tests: they give this process
// a terminal of their own (or none) and watch what it relays.
import { run } from '../src/index.ts';

const [root, id, bundle, stdin] = process.argv.slice(2);
try {
  process.exitCode = await run({
    root: root!,
    id: id!,
    bundle: bundle!,
    launchOn: 'calling-thread',
    terminalStdin: stdin !== 'no-stdin',
  });
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 125;
}
