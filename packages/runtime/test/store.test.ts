import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, removeTmp } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerStore, parseSignal, validateId } from '../src/index.ts';
import { lockContainer } from '../src/lock.ts';
import { procInfo } from '../src/proc.ts';

const root = makeTmp('ctr-store-');
afterAll(() => removeTmp(root));

const record = (id: string) => ({
  ociVersion: '1.2.0',
  id,
  status: 'creating' as const,
  bundle: '/b',
  created: new Date().toISOString(),
  rootfs: '/b/rootfs',
  config: { ociVersion: '1.2.0' },
});

describe('container store', () => {
  it("allocates once per id and reports runc's message for a duplicate", () => {
    const store = new ContainerStore(root);
    store.allocate('one');
    expect(() => store.allocate('one')).toThrow('container with id exists: one');
  });

  it('rejects ids that would leave --root', () => {
    for (const bad of ['', '.', '..', 'a/b', '../x', 'a b'])
      expect(() => validateId(bad)).toThrow(/invalid container id/);
    validateId('web-1_a.b+c');
  });

  it('writes state atomically and leaves no temporary file', () => {
    const store = new ContainerStore(root);
    store.allocate('two');
    store.write(record('two'));
    store.write({ ...record('two'), status: 'created' });
    expect(store.read('two').status).toBe('created');
    expect(readdirSync(store.dir('two'))).toEqual(['state.json']);
  });

  it('says "does not exist" for an unknown id', () => {
    expect(() => new ContainerStore(root).read('nope')).toThrow('container nope does not exist');
  });

  it('removes idempotently', () => {
    const store = new ContainerStore(root);
    store.allocate('three');
    store.remove('three');
    store.remove('three');
    expect(existsSync(join(root, 'three'))).toBe(false);
  });
});

describe('container lock', () => {
  it('serialises holders of the same container and not of different ones', async () => {
    const store = new ContainerStore(root);
    store.allocate('l1');
    store.allocate('l2');
    // A second process holds l1's lock for a moment; our lock on l2 is immediate.
    const holder = spawn('flock', [store.dir('l1'), 'sh', '-c', 'echo locked; sleep 0.5'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((r) => holder.stdout.once('data', r));
    const other = await lockContainer(store.dir('l2'), 'l2');
    other.release();
    const exited = new Promise((r) => holder.once('exit', r));
    const lock = await lockContainer(store.dir('l1'), 'l1');
    // We only got the lock after the holder let go.
    expect(holder.exitCode ?? (await exited)).toBe(0);
    lock.release();
    lock.release();
  });

  it('lets two operations on one container in one process wait for each other instead of deadlocking', async () => {
    const store = new ContainerStore(root);
    store.allocate('l3');
    const first = await lockContainer(store.dir('l3'), 'l3');
    const second = lockContainer(store.dir('l3'), 'l3');
    setTimeout(() => first.release(), 50);
    (await second).release();
  });

  it('reports a container deleted while we waited as not existing', async () => {
    const store = new ContainerStore(root);
    store.allocate('gone');
    const dir = store.dir('gone');
    store.remove('gone');
    await expect(lockContainer(dir, 'gone')).rejects.toThrow('does not exist');
  });
});

describe('helpers', () => {
  it('parses signal names and numbers like runc', () => {
    expect(parseSignal('KILL')).toBe(9);
    expect(parseSignal('SIGTERM')).toBe(15);
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('sigusr1')).toBe(10);
    expect(() => parseSignal('NOPE')).toThrow(/invalid signal/);
  });

  it('reads a process start time from /proc', () => {
    expect(procInfo(process.pid)?.startTime).toMatch(/^\d+$/);
    expect(procInfo(2 ** 22 + 1)).toBeUndefined();
  });
});
