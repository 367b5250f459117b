import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  getTerminalMode,
  getWindowSize,
  isCloseOnExec,
  openPtyPeer,
  ptyNumber,
  rawTerminalMode,
  SysError,
  setTerminalMode,
  setWindowSize,
  unlockPty,
} from '../src/index.ts';

describe('pseudo-terminals', () => {
  it('opens a pty pair through the master and carries bytes and window sizes', () => {
    const master = openSync('/dev/ptmx', 'r+');
    unlockPty(master);
    expect(ptyNumber(master)).toBeGreaterThanOrEqual(0);
    const slave = openPtyPeer(master);
    expect(isCloseOnExec(slave)).toBe(true);
    setWindowSize(slave, { rows: 40, cols: 120 });
    expect(getWindowSize(master)).toEqual({ rows: 40, cols: 120 });
    writeSync(slave, 'hello\n');
    const buf = Buffer.alloc(64);
    const n = readSync(master, buf, 0, buf.length, null);
    // The line discipline turns \n into \r\n.
    expect(buf.toString('utf8', 0, n)).toBe('hello\r\n');
    closeSync(slave);
    closeSync(master);
  });

  it('reports a file that is not a terminal', () => {
    const fd = openSync('/dev/null', 'r');
    expect(() => getWindowSize(fd)).toThrow(SysError);
    expect(() => openPtyPeer(fd)).toThrow(/TIOCGPTPEER/);
    closeSync(fd);
  });

  it('puts a terminal in raw mode and back', () => {
    const master = openSync('/dev/ptmx', 'r+');
    unlockPty(master);
    const slave = openPtyPeer(master);
    const saved = getTerminalMode(slave);
    setTerminalMode(slave, rawTerminalMode(saved));
    const stty = () => spawnSync('stty', ['-a'], { stdio: [slave, 'pipe', 'pipe'], encoding: 'utf8' }).stdout;
    expect(stty()).toMatch(/-icanon\b/);
    expect(stty()).toMatch(/-opost\b/);
    // No output processing: \n stays \n.
    writeSync(slave, 'raw\n');
    const buf = Buffer.alloc(64);
    expect(buf.toString('utf8', 0, readSync(master, buf, 0, buf.length, null))).toBe('raw\n');
    setTerminalMode(slave, saved);
    expect(stty()).toMatch(/(^|\s)icanon\b/);
    expect(stty()).toMatch(/(^|\s)opost\b/);
    closeSync(slave);
    closeSync(master);
    const fd = openSync('/dev/null', 'r');
    expect(() => getTerminalMode(fd)).toThrow(/tcgetattr: ENOTTY/);
    closeSync(fd);
  });
});
