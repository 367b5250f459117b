// `ctr container run -t` end to end: a real docker-registry, a busybox image, the real
// kernel, and ctr on a pty this test makes its controlling terminal (as a terminal
// emulator would), or on plain files.
import { type ChildProcess, spawn } from 'node:child_process';
import { constants, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import { RegistryClient } from '@ctr/registry';
import { AT, close, O, openat, openPtyPeer, setWindowSize, unlockPty } from '@ctr/sys';
import {
  busyboxImage,
  makeTmp,
  needsCommand,
  needsRoot,
  pushBuiltImage,
  type RegistryServer,
  removeTmp,
  runnable,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;
const tmp = makeTmp('ctr-cli-tty-');
const canRun = runnable(
  'ctr container run -t',
  needsRoot(),
  needsCommand('docker-registry'),
  needsCommand('setsid', 'util-linux'),
);
let registry: RegistryServer;
let image: string;

beforeAll(async () => {
  if (!canRun) return;
  registry = await startRegistry();
  await pushBuiltImage(
    new RegistryClient({ plainHttp: true }),
    `${registry.host}/tty/busybox`,
    '1',
    await busyboxImage(),
  );
  image = `${registry.host}/tty/busybox:1`;
});

afterAll(async () => {
  await registry?.stop();
  removeTmp(tmp);
});

let sandboxes = 0;

function ctr(
  stdio: [number | 'ignore', number | 'pipe', number | 'pipe'],
  args: string[],
  pre: string[] = [],
) {
  const dir = join(tmp, `s${++sandboxes}`);
  mkdirSync(dir);
  const node = [process.execPath, '--conditions=source', '--', bin, '--root', join(dir, 'run')];
  const [cmd, ...rest] = [...pre, ...node, 'container', 'run', '--plain-http', ...args];
  const child = spawn(cmd!, rest, {
    stdio,
    env: {
      ...process.env,
      CTR_STORE: join(dir, 'store'),
      CTR_SNAPSHOTS: join(dir, 'snapshots'),
      CTR_CONTAINERS: join(dir, 'containers'),
    },
  });
  return { child, dir };
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

describe.runIf(canRun)('ctr container run -t', () => {
  it('-it relays the terminal ctr runs on: /dev/pts/0, its size, keys in, the exit status out', async () => {
    const master = openat(AT.FDCWD, '/dev/ptmx', constants.O_RDWR | O.NOCTTY);
    unlockPty(master);
    const slave = openPtyPeer(master);
    setWindowSize(master, { rows: 30, cols: 90 });
    const { child, dir } = ctr(
      [slave, slave, slave],
      ['--rm', '-it', image, 'sh', '-c', 'tty; stty size; read x; echo "got $x"; exit 4'],
      ['setsid', '-c'],
    );
    const exited = exitOf(child);
    const pty = new ReadStream(master);
    pty.on('error', () => {});
    let out = '';
    const waiters: (() => void)[] = [];
    pty.on('data', (d: Buffer) => {
      out += d.toString();
      for (const w of waiters.splice(0)) w();
    });
    const until = async (re: RegExp) => {
      while (!re.test(out)) await new Promise<void>((r) => waiters.push(r));
    };
    await until(/\/dev\/pts\/0\r+\n30 90\r+\n/);
    pty.write('typed\r');
    await until(/got typed/);
    expect(
      await exitOf(child)
        .catch(() => null)
        .then(() => exited),
    ).toBe(4);
    pty.destroy();
    close(slave);
    // --rm removed it.
    expect(readdirSync(join(dir, 'containers'))).toEqual([]);
  });

  it("-t without a terminal on ctr's side still gives the program one", async () => {
    const { child, dir } = ctr(
      ['ignore', 'pipe', 'pipe'],
      ['--rm', '-t', image, 'sh', '-c', 'test -t 0 && test -t 1 && tty'],
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    expect(await exitOf(child)).toBe(0);
    expect(out).toBe('/dev/pts/0\r\n');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  });
});
