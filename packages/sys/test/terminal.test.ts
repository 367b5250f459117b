import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  getWindowSize,
  isCloseOnExec,
  openPtyPeer,
  ptyNumber,
  SysError,
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
});
