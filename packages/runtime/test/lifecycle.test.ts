import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { create, deleteContainer, kill, list, run, start, state } from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-runtime-');
const root = join(tmp, 'state');
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

const until = async (what: () => boolean) => {
  while (!what()) await new Promise((r) => setTimeout(r, 10));
};

describe.runIf(runnable('runtime lifecycle', needsRoot()))('OCI lifecycle', () => {
  it('create leaves the program waiting; start runs it; it stops; delete removes it', async () => {
    const out = join(tmp, 'ran');
    const bundle = makeBundle(join(tmp, 'b1'), { args: ['sh', '-c', 'echo ran'] });
    const pidFile = join(tmp, 'b1.pid');
    const outFd = openSync(out, 'w');
    const { record } = await create({ root, id: 'c1', bundle, pidFile, stdio: ['ignore', outFd, 'inherit'] });
    closeSync(outFd);
    expect(state({ root, id: 'c1' })).toMatchObject({ id: 'c1', status: 'created', bundle });
    expect(readFileSync(pidFile, 'utf8')).toBe(String(record.pid));
    expect(existsSync(`/proc/${record.pid}`)).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe('');

    await start({ root, id: 'c1' });
    await until(() => state({ root, id: 'c1' }).status === 'stopped');
    expect(readFileSync(out, 'utf8')).toBe('ran\n');
    expect(state({ root, id: 'c1' }).pid).toBe(0);
    await expect(start({ root, id: 'c1' })).rejects.toThrow('cannot start a container that has stopped');
    await expect(kill({ root, id: 'c1', signal: 'KILL' })).rejects.toThrow('container not running');

    await deleteContainer({ root, id: 'c1' });
    expect(() => state({ root, id: 'c1' })).toThrow('container c1 does not exist');
    await expect(deleteContainer({ root, id: 'c1' })).rejects.toThrow('does not exist');
    await deleteContainer({ root, id: 'c1', force: true });
  });

  it('kill and delete from the created state', async () => {
    const bundle = makeBundle(join(tmp, 'b2'), { args: ['true'] });
    await create({ root, id: 'c2', bundle, stdio: ['ignore', 'ignore', 'inherit'] });
    await kill({ root, id: 'c2', signal: 'KILL' });
    await until(() => state({ root, id: 'c2' }).status === 'stopped');
    await deleteContainer({ root, id: 'c2' });

    const { record } = await create({ root, id: 'c3', bundle, stdio: ['ignore', 'ignore', 'inherit'] });
    await deleteContainer({ root, id: 'c3' });
    expect(
      existsSync(`/proc/${record.pid}/stat`) &&
        !readFileSync(`/proc/${record.pid}/stat`, 'utf8').includes(') Z'),
    ).toBe(false);
  });

  it('refuses to delete a running container without force, then kills it with force', async () => {
    const bundle = makeBundle(join(tmp, 'b4'), { args: ['sleep', '100'] });
    await create({ root, id: 'c4', bundle, stdio: ['ignore', 'ignore', 'inherit'] });
    await start({ root, id: 'c4' });
    expect(state({ root, id: 'c4' }).status).toBe('running');
    await expect(start({ root, id: 'c4' })).rejects.toThrow('cannot start an already running container');
    await expect(deleteContainer({ root, id: 'c4' })).rejects.toThrow(
      'cannot delete container c4 that is not stopped: running',
    );
    await deleteContainer({ root, id: 'c4', force: true });
    expect(list({ root }).map((c) => c.id)).not.toContain('c4');
  });

  it('kill delivers a named signal to the running program', async () => {
    // PID 1 of a pid namespace gets only the signals it has a handler for.
    const bundle = makeBundle(join(tmp, 'b5'), {
      args: ['sh', '-c', 'trap "exit 0" TERM; echo trapped; while :; do sleep 0.1; done'],
    });
    const out = join(tmp, 'c5.out');
    const fd = openSync(out, 'w');
    await create({ root, id: 'c5', bundle, stdio: ['ignore', fd, 'inherit'] });
    closeSync(fd);
    await start({ root, id: 'c5' });
    // Signalled before its trap is set, PID 1 would ignore SIGTERM.
    await until(() => readFileSync(out, 'utf8').includes('trapped'));
    await kill({ root, id: 'c5', signal: 'TERM' });
    await until(() => state({ root, id: 'c5' }).status === 'stopped');
    await deleteContainer({ root, id: 'c5' });
  });

  it('run returns the exit status, 128+signal when killed, and deletes the container', async () => {
    const b = makeBundle(join(tmp, 'b6'), { args: ['sh', '-c', 'exit 7'] });
    expect(await run({ root, id: 'c6', bundle: b, stdio: ['ignore', 'ignore', 'inherit'] })).toBe(7);
    expect(list({ root }).map((c) => c.id)).not.toContain('c6');
    // PID 1 of a pid namespace cannot be killed from inside: kill it from here.
    const k = makeBundle(join(tmp, 'b7'), { args: ['sleep', '100'] });
    const running = run({ root, id: 'c7', bundle: k, stdio: ['ignore', 'ignore', 'inherit'], keep: true });
    await until(() => list({ root }).some((c) => c.id === 'c7' && c.status === 'running'));
    await kill({ root, id: 'c7', signal: 'KILL' });
    expect(await running).toBe(137);
    expect(state({ root, id: 'c7' }).status).toBe('stopped');
    await deleteContainer({ root, id: 'c7' });
  });

  it('fails create with a clear error for a missing binary and leaves nothing behind', async () => {
    const bundle = makeBundle(join(tmp, 'b8'), { args: ['no-such-program'] });
    await expect(create({ root, id: 'c8', bundle, stdio: ['ignore', 'ignore', 'inherit'] })).rejects.toThrow(
      'exec: "no-such-program": executable file not found in $PATH',
    );
    expect(list({ root }).map((c) => c.id)).not.toContain('c8');
    expect(existsSync(join(root, 'c8'))).toBe(false);
  });

  it('fails create when the config is invalid, naming the JSON path', async () => {
    const bundle = makeBundle(join(tmp, 'b9'), {}, { root: undefined });
    await expect(create({ root, id: 'c9', bundle })).rejects.toThrow(/invalid .*config.json.*root/);
    expect(existsSync(join(root, 'c9'))).toBe(false);
  });

  it('refuses a duplicate id', async () => {
    const bundle = makeBundle(join(tmp, 'b10'), { args: ['true'] });
    await create({ root, id: 'c10', bundle, stdio: ['ignore', 'ignore', 'inherit'] });
    await expect(create({ root, id: 'c10', bundle })).rejects.toThrow('container with id exists: c10');
    await deleteContainer({ root, id: 'c10', force: true });
  });
});
