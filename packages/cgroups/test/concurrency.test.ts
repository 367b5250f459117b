import { existsSync } from 'node:fs';
import { needsRoot, runnable } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { openCgroup, planCgroup } from '../src/index.ts';
import { startInside, uniquePath, until } from './helpers.ts';

describe.runIf(runnable('parallel cgroup lifecycles', needsRoot()))('concurrency', () => {
  it('creates, fills, kills and deletes 50 cgroups in parallel with nothing left behind', async () => {
    const cgs = Array.from({ length: 50 }, (_, i) =>
      openCgroup(
        planCgroup(
          { cgroupsPath: uniquePath(`par${i}`), resources: { pids: { limit: 16 } } },
          { containerId: `p${i}` },
        ),
      ),
    );
    const lifecycle = async (cg: (typeof cgs)[number]): Promise<void> => {
      cg.create();
      cg.applyResources();
      const p = await startInside(cg, 'sleep 60 & sleep 60 & wait');
      await until('three processes', () => cg.pids().length === 3);
      await cg.killAll();
      expect((await p.exited).signal).toBe('SIGKILL');
      await cg.delete();
    };
    const results = await Promise.allSettled(cgs.map(lifecycle));
    const leftovers = cgs.flatMap((cg) => cg.plan.dirs.filter((d) => existsSync(d.path)).map((d) => d.path));
    for (const cg of cgs)
      if (cg.plan.dirs.some((d) => existsSync(d.path))) await cg.killAll().then(() => cg.delete());
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(leftovers).toEqual([]);
  });
});
