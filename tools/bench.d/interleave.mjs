// Times commands in turns (one run of each, then the next round) instead of all runs
// of one tool and then the next: on a shared machine the load changes within a
// minute, and only taking turns exposes every tool to the same load.
//   node interleave.mjs RUNS OUT.json NAME=JSON-ARGV ...
// Writes {name: [ms, ...]} to OUT.json; the first two rounds are warm-up.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const [runsArg, out, ...specs] = process.argv.slice(2);
const tools = specs.map((s) => {
  const eq = s.indexOf('=');
  return { name: s.slice(0, eq), argv: JSON.parse(s.slice(eq + 1)) };
});
const times = Object.fromEntries(tools.map((t) => [t.name, []]));
const runs = Number(runsArg);
for (let round = -2; round < runs; round++) {
  for (const { name, argv } of tools) {
    const start = performance.now();
    const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = performance.now() - start;
    if (r.status !== 0) {
      process.stderr.write(
        `tools/bench: a run of ${name} failed (${r.status ?? r.signal}): ${argv.join(' ')}\n${r.stderr}`,
      );
      process.exit(1);
    }
    if (round >= 0) times[name].push(ms);
  }
}
writeFileSync(out, JSON.stringify(times));
