import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { create, deleteContainer, list, start, state } from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-faults-');
const root = join(tmp, 'state');
const bin = new URL('../../cli/src/bin.ts', import.meta.url).pathname;
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

/** Pids of every process that has `file` open: the container's processes hold their stdout. */
function holders(file: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === file) out.push(Number(pid));
      }
    } catch {
      // The process exited while we looked.
    }
  }
  return out;
}

const until = async (what: () => boolean, tries = 2000) => {
  for (let i = 0; i < tries && !what(); i++) await new Promise((r) => setTimeout(r, 10));
  return what();
};

const pidsCgroup = readFileSync('/proc/self/cgroup', 'utf8')
  .split('\n')
  .find((l) => /^\d+:pids:/.test(l))
  ?.split(':')[2];

describe.runIf(runnable('runtime faults', needsRoot()))('faults', () => {
  it('a runtime killed with SIGKILL at any point of create leaves nothing after delete --force', async () => {
    const bundle = makeBundle(join(tmp, 'kb'), { args: ['sleep', '1000'] });
    // Points in create from "just started" to "done": Node boot, planning, the launch, the init's setup.
    for (const [i, delay] of [0, 150, 400, 800, 1200, 1800, 2600, 4000].entries()) {
      const id = `k${i}`;
      const marker = join(tmp, `${id}.out`);
      const out = openSync(marker, 'w');
      const ctr = spawn(
        process.execPath,
        ['--conditions=source', bin, '--root', root, 'create', '-b', bundle, id],
        {
          stdio: ['ignore', out, out],
        },
      );
      closeSync(out);
      const exited = new Promise((r) => ctr.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      ctr.kill('SIGKILL');
      await exited;
      await deleteContainer({ root, id, force: true });
      expect(existsSync(join(root, id))).toBe(false);
      // The init notices the runtime's death on its sync pipe, or was killed by delete.
      expect(await until(() => holders(marker).length === 0)).toBe(true);
      if (pidsCgroup !== undefined) {
        expect(existsSync(join('/sys/fs/cgroup/pids', pidsCgroup, id))).toBe(false);
      }
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(bundle);
    }
  }, 600_000);

  it('50 containers created, started and deleted in parallel, without corruption', async () => {
    const bundle = makeBundle(join(tmp, 'pb'), { args: ['sleep', '1000'] });
    const ids = Array.from({ length: 50 }, (_, i) => `par${i}`);
    await Promise.all(ids.map((id) => create({ root, id, bundle, stdio: ['ignore', 'ignore', 'inherit'] })));
    const created = list({ root }).filter((c) => c.id.startsWith('par'));
    expect(created).toHaveLength(50);
    expect(new Set(created.map((c) => c.pid)).size).toBe(50);
    expect(created.every((c) => c.status === 'created')).toBe(true);
    await Promise.all(ids.map((id) => start({ root, id })));
    expect(ids.every((id) => state({ root, id }).status === 'running')).toBe(true);
    await Promise.all(ids.map((id) => deleteContainer({ root, id, force: true })));
    expect(list({ root }).filter((c) => c.id.startsWith('par'))).toEqual([]);
  }, 600_000);
});
