import { closeSync, openSync, readFileSync, readlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeTmp, removeTmp } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  acceptUnix,
  close,
  connectUnix,
  isCloseOnExec,
  listenUnix,
  recvFds,
  SysError,
  sendFds,
  socketpair,
} from '../src/index.ts';

const dir = makeTmp();
afterAll(() => removeTmp(dir));

describe('AF_UNIX sockets', () => {
  it('socketpair gives two connected close-on-exec ends', () => {
    const [a, b] = socketpair();
    expect(isCloseOnExec(a) && isCloseOnExec(b)).toBe(true);
    writeSync(a, 'ping');
    const { payload, fds } = recvFds(b, 1);
    expect(payload.toString()).toBe('ping');
    expect(fds).toEqual([]);
    close(a);
    close(b);
  });

  it('passes an fd with SCM_RIGHTS; the received one refers to the same file', () => {
    const file = join(dir, 'passed');
    writeFileSync(file, 'through the socket\n');
    const [a, b] = socketpair();
    const fd = openSync(file, 'r');
    sendFds(a, Buffer.from('/dev/ptmx'), [fd]);
    closeSync(fd);
    const { payload, fds } = recvFds(b, 1);
    expect(payload.toString()).toBe('/dev/ptmx');
    expect(fds).toHaveLength(1);
    expect(readlinkSync(`/proc/self/fd/${fds[0]}`)).toBe(file);
    expect(isCloseOnExec(fds[0]!)).toBe(true);
    expect(readFileSync(fds[0]!, 'utf8')).toBe('through the socket\n');
    close(fds[0]!);
    close(a);
    close(b);
  });

  it('connects to a listening unix socket and fails clearly when none listens', async () => {
    const path = join(dir, 'sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(path, r));
    const got = new Promise<string>((r) =>
      server.once('connection', (c) => c.once('data', (d) => r(d.toString()))),
    );
    const fd = connectUnix(path);
    writeSync(fd, 'hello');
    expect(await got).toBe('hello');
    close(fd);
    server.close();
    expect(() => connectUnix(join(dir, 'none'))).toThrow(SysError);
    expect(() => connectUnix(join(dir, 'none'))).toThrow(/connect .*ENOENT/);
  });

  it('listens on a path, refuses to wait for a connection, takes a queued one with its fds', () => {
    const path = join(dir, 'listening');
    const listener = listenUnix(path);
    expect(isCloseOnExec(listener)).toBe(true);
    expect(() => acceptUnix(listener)).toThrow(/accept4: EAGAIN/);
    // The message is queued with the connection: the sender may be gone by accept.
    const client = connectUnix(path);
    const file = join(dir, 'queued');
    writeFileSync(file, 'queued\n');
    const fd = openSync(file, 'r');
    sendFds(client, Buffer.from('x'), [fd]);
    closeSync(fd);
    close(client);
    const conn = acceptUnix(listener);
    expect(isCloseOnExec(conn)).toBe(true);
    const { fds } = recvFds(conn, 1);
    expect(readFileSync(fds[0]!, 'utf8')).toBe('queued\n');
    close(fds[0]!);
    close(conn);
    expect(() => listenUnix(path)).toThrow(/bind .*EADDRINUSE/);
    close(listener);
  });
});
