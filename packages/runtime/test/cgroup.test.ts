import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  create,
  deleteContainer,
  list,
  pause,
  processes,
  resume,
  start,
  state,
  stats,
  update,
} from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-cgroup-');
const root = join(tmp, 'state');
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

const procState = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];

describe.runIf(runnable('container cgroups', needsRoot()))('pause, resume, ps, stats, update', () => {
  it('freezes and thaws the container, lists its processes, reports and changes its limits', async () => {
    const bundle = makeBundle(
      join(tmp, 'b'),
      { args: ['sh', '-c', 'sleep 1000 & while :; do sleep 1; done'] },
      {},
    );
    await create({ root, id: 'p1', bundle, stdio: ['ignore', 'ignore', 'inherit'] });
    await start({ root, id: 'p1' });
    const pid = state({ root, id: 'p1' }).pid;
    let pids: number[] = [];
    while (pids.length < 3) pids = await processes({ root, id: 'p1' });
    expect(pids).toContain(pid);

    await pause({ root, id: 'p1' });
    expect(state({ root, id: 'p1' }).status).toBe('paused');
    await expect(pause({ root, id: 'p1' })).rejects.toThrow('container not running');
    await resume({ root, id: 'p1' });
    expect(state({ root, id: 'p1' }).status).toBe('running');
    await expect(resume({ root, id: 'p1' })).rejects.toThrow('container not paused');
    expect(['S', 'R']).toContain(procState(pid));

    await update({ root, id: 'p1', resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } } });
    const s = await stats({ root, id: 'p1' });
    expect(s.memory.usage.limit).toBe(64 * 1024 * 1024);
    expect(s.pids.current).toBeGreaterThanOrEqual(3);
    expect(s.pids.limit).toBe(50);

    await deleteContainer({ root, id: 'p1', force: true });
    await expect(processes({ root, id: 'p1' })).rejects.toThrow('does not exist');
  });
});
