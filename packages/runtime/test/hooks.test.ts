import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hook } from '@ctr/spec';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { create, deleteContainer, list, start, state } from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-hooks-');
const root = join(tmp, 'state');
const log = join(tmp, 'hooks.log');
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

/** A host hook that appends "<name> <state JSON from stdin>" to the log. */
const logging = (name: string): Hook => ({
  path: '/bin/sh',
  args: ['sh', '-c', `echo "${name} $(cat) $HOOK_ENV" >> ${log}`],
  env: ['HOOK_ENV=from-env'],
});

const until = async (what: () => boolean) => {
  while (!what()) await new Promise((r) => setTimeout(r, 10));
};

describe.runIf(runnable('OCI hooks', needsRoot()))('hooks', () => {
  it('runs every hook in lifecycle order with the state on stdin', async () => {
    const bundle = makeBundle(
      join(tmp, 'b1'),
      { args: ['true'] },
      {
        root: { path: 'rootfs', readonly: false },
        hooks: {
          createRuntime: [logging('createRuntime')],
          createContainer: [logging('createContainer')],
          // Inside the container: /bin/sh is busybox, /tmp is the bundle's rootfs/tmp.
          startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/startContainer'] }],
          poststart: [logging('poststart')],
          poststop: [logging('poststop')],
        },
      },
    );
    const { record } = await create({ root, id: 'h1', bundle, stdio: ['ignore', 'ignore', 'inherit'] });
    await start({ root, id: 'h1' });
    await until(() => state({ root, id: 'h1' }).status === 'stopped');
    await deleteContainer({ root, id: 'h1' });
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual([
      'createRuntime',
      'createContainer',
      'poststart',
      'poststop',
    ]);
    const stateOf = (line: string) => JSON.parse(line.slice(line.indexOf(' ') + 1, line.lastIndexOf(' ')));
    expect(stateOf(lines[0]!)).toMatchObject({ id: 'h1', status: 'creating', pid: record.pid, bundle });
    expect(stateOf(lines[2]!)).toMatchObject({ id: 'h1', status: 'running', pid: record.pid });
    expect(stateOf(lines[3]!)).toMatchObject({ id: 'h1', status: 'stopped' });
    expect(lines[0]!.endsWith(' from-env')).toBe(true);
    const inside = JSON.parse(readFileSync(join(bundle, 'rootfs/tmp/startContainer'), 'utf8'));
    expect(inside).toMatchObject({ id: 'h1', status: 'running', pid: record.pid });
  });

  it('a failing createRuntime hook aborts create and cleans up; poststart failures are warnings', async () => {
    const failing = makeBundle(
      join(tmp, 'b2'),
      { args: ['true'] },
      { hooks: { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo nope >&2; exit 3'] }] } },
    );
    await expect(
      create({ root, id: 'h2', bundle: failing, stdio: ['ignore', 'ignore', 'inherit'] }),
    ).rejects.toThrow('createRuntime hook /bin/sh — exit status 3: nope');
    expect(existsSync(join(root, 'h2'))).toBe(false);

    const warned = makeBundle(
      join(tmp, 'b3'),
      { args: ['true'] },
      { hooks: { poststart: [{ path: '/bin/false', timeout: 5 }] } },
    );
    const warnings: string[] = [];
    await create({ root, id: 'h3', bundle: warned, stdio: ['ignore', 'ignore', 'inherit'] });
    await start({ root, id: 'h3', warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringContaining('poststart hook /bin/false — exit status 1')]);
    await deleteContainer({ root, id: 'h3', force: true });
  });
});
