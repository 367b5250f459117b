// The foreground relay of `run` with process.terminal and no --console-socket, run
// as a separate process (it changes its own terminal's mode and handles SIGWINCH):
// once on a pty this test creates and makes its controlling terminal, once with
// plain pipes.
import { type ChildProcess, type StdioOptions, spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import { AT, close, O, openat, openPtyPeer, setWindowSize, unlockPty } from '@ctr/sys';
import { makeTmp, needsCommand, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteContainer, list, run } from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-terminal-');
const root = join(tmp, 'state');
const driver = join(import.meta.dirname, 'terminal-run.ts');
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

function runDriver(id: string, bundle: string, stdio: StdioOptions, pre: string[] = [], post: string[] = []) {
  const node = [process.execPath, '--conditions=source', '--', driver, root, id, bundle, ...post];
  const [cmd, ...args] = [...pre, ...node];
  return spawn(cmd!, args, { stdio });
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

/** Collects a stream's text; `until` waits for a pattern after `from`. */
function collect(stream: NodeJS.ReadableStream) {
  let text = '';
  const waiters: (() => void)[] = [];
  stream.on('data', (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  stream.on('error', () => {});
  const until = async (pattern: RegExp, from = 0): Promise<RegExpMatchArray> => {
    for (;;) {
      const m = text.slice(from).match(pattern);
      if (m) return m;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { text: () => text, until };
}

/** The mode of the terminal `fd` is on, as `stty -a` prints it. */
const sttyOf = (fd: number) =>
  spawnSync('stty', ['-a'], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' }).stdout;

const LOOP = 'tty; stty size; while read x; do [ "$x" = q ] && exit 7; echo "size $(stty size)"; done';

describe.runIf(
  runnable('terminal relay', needsRoot(), needsCommand('setsid', 'util-linux'), needsCommand('stty')),
)('run with process.terminal and no console socket', () => {
  it('relays its own terminal in raw mode, with its size and its resizes, and exits with the status', async () => {
    const master = openat(AT.FDCWD, '/dev/ptmx', constants.O_RDWR | O.NOCTTY);
    unlockPty(master);
    const slave = openPtyPeer(master);
    setWindowSize(master, { rows: 24, cols: 80 });
    const bundle = makeBundle(join(tmp, 'tty'), {
      terminal: true,
      consoleSize: { height: 33, width: 101 },
      args: ['sh', '-c', LOOP],
    });
    // setsid -c: ctr leads a new session with this pty as its controlling terminal,
    // so a resize here sends it SIGWINCH as a user's terminal emulator would.
    const child = runDriver('tty1', bundle, [slave, slave, slave], ['setsid', '-c']);
    const exited = exitOf(child);
    const pty = new ReadStream(master);
    const out = collect(pty);
    // The container's own devpts, and ctr's terminal size rather than consoleSize.
    await out.until(/\/dev\/pts\/0\r\n24 80\r\n/);
    // Raw as runc makes it (cfmakeraw): no line editing, no echo, no output processing.
    const raw = sttyOf(slave);
    for (const flag of ['-icanon', '-echo', '-isig', '-opost']) expect(raw).toContain(flag);

    setWindowSize(master, { rows: 40, cols: 120 });
    // SIGWINCH and the keys travel separately: ask until the new size shows.
    let seen = '';
    for (let i = 0; i < 50 && seen !== '40 120'; i++) {
      const from = out.text().length;
      pty.write('s\r');
      seen = (await out.until(/size (\d+ \d+)/, from))[1]!;
    }
    expect(seen).toBe('40 120');

    pty.write('q\r');
    expect(await exited).toBe(7);
    // ctr put its terminal back as it found it.
    const restored = sttyOf(slave);
    for (const flag of ['icanon', 'echo', 'isig', 'opost'])
      expect(restored).toMatch(new RegExp(`(^|\\s)${flag}\\b`));
    pty.destroy();
    close(slave);
    expect(list({ root }).map((c) => c.id)).toEqual([]);
  });

  it('works with pipes for stdin and stdout, with the size from process.consoleSize', async () => {
    const bundle = makeBundle(join(tmp, 'pipes'), {
      terminal: true,
      consoleSize: { height: 33, width: 101 },
      args: ['sh', '-c', 'tty; stty size; read x; echo "got $x"; exit 3'],
    });
    const child = runDriver('pipe1', bundle, ['pipe', 'pipe', 'pipe']);
    const exited = exitOf(child);
    const out = collect(child.stdout!);
    await out.until(/\/dev\/pts\/0\r\n33 101\r\n/);
    child.stdin!.write('hello\n');
    await out.until(/got hello\r\n/);
    expect(await exited).toBe(3);
  });

  it('gives the terminal to process.user, so the program can reopen its own tty', async () => {
    const bundle = makeBundle(join(tmp, 'user'), {
      terminal: true,
      user: { uid: 1000, gid: 1000 },
      args: ['sh', '-c', 'stat -c %u:%g $(tty); echo reopened >$(tty)'],
    });
    const child = runDriver('user1', bundle, ['ignore', 'pipe', 'pipe']);
    const exited = exitOf(child);
    const out = collect(child.stdout!);
    expect(await exited).toBe(0);
    // The group stays devpts' gid=5 option (tty), as under runc.
    expect(out.text()).toBe('1000:5\r\nreopened\r\n');
  });

  it('still returns the status when its own stdout goes away mid-output', async () => {
    const bundle = makeBundle(join(tmp, 'epipe'), {
      terminal: true,
      args: ['sh', '-c', 'i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; exit 6'],
    });
    const child = runDriver('epipe1', bundle, ['ignore', 'pipe', 'pipe']);
    const exited = exitOf(child);
    await collect(child.stdout!).until(/line 1\r\n/);
    // The reader leaves, as `ctr run … | head -1` would.
    child.stdout!.destroy();
    expect(await exited).toBe(6);
  });

  it('leaves stdin out when asked (podman -t without -i), and refuses to detach', async () => {
    const bundle = makeBundle(join(tmp, 'nostdin'), {
      terminal: true,
      args: ['sh', '-c', 'echo start; read -t 3 x; echo "read $? $x."'],
    });
    const child = runDriver('nostdin1', bundle, ['pipe', 'pipe', 'pipe'], [], ['no-stdin']);
    const exited = exitOf(child);
    const out = collect(child.stdout!);
    await out.until(/start/);
    child.stdin!.write('ignored\n');
    expect(await exited).toBe(0);
    // The read timed out: nothing reached the terminal.
    expect(out.text()).toMatch(/read [1-9]\d* \./);
    await expect(run({ root, id: 'detached', bundle, detach: true })).rejects.toThrow(
      /run --detach with process.terminal — a detached container needs --console-socket/,
    );
    expect(list({ root }).map((c) => c.id)).toEqual([]);
  });
});
