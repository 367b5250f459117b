import { readSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { close, recvFds } from '@ctr/sys';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { create, deleteContainer, list, start } from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-console-');
const root = join(tmp, 'state');
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

/** Receives the pty master the way containerd's console socket does: one SCM_RIGHTS message. */
async function receiveMaster(conn: Socket): Promise<{ name: string; fd: number }> {
  const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
  for (;;) {
    try {
      const { payload, fds } = recvFds(fd, 1);
      return { name: payload.toString(), fd: fds[0]! };
    } catch (e) {
      if (!String(e).includes('EAGAIN')) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe.runIf(runnable('console socket', needsRoot()))('process.terminal with --console-socket', () => {
  it('sends a working pty master; the program has the slave as its controlling terminal', async () => {
    const socketPath = join(tmp, 'console.sock');
    // pauseOnConnect: node must not read (and drop) the message carrying the fd.
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((r) => server.listen(socketPath, r));
    const connected = new Promise<Socket>((r) => server.once('connection', r));
    const bundle = makeBundle(join(tmp, 'b'), {
      terminal: true,
      consoleSize: { height: 33, width: 101 },
      args: ['sh', '-c', 'test -t 0 && echo tty; stty size; echo done; read line; echo "got $line"'],
    });
    const creating = create({ root, id: 't1', bundle, consoleSocket: socketPath });
    const conn = await connected;
    const master = await receiveMaster(conn);
    await creating;
    expect(master.name).toBe('/dev/ptmx');
    await start({ root, id: 't1' });
    let out = '';
    const buf = Buffer.alloc(4096);
    while (!out.includes('done'))
      out += buf.toString('utf8', 0, readSync(master.fd, buf, 0, buf.length, null));
    expect(out).toMatch(/^tty\r\n33 101\r\n/);
    const { writeSync } = await import('node:fs');
    writeSync(master.fd, 'typed\n');
    while (!out.includes('got typed'))
      out += buf.toString('utf8', 0, readSync(master.fd, buf, 0, buf.length, null));
    close(master.fd);
    conn.destroy();
    server.close();
    await deleteContainer({ root, id: 't1', force: true });
  });

  it('refuses process.terminal without a console socket, and a socket nobody listens on', async () => {
    const bundle = makeBundle(join(tmp, 'b2'), { terminal: true });
    await expect(create({ root, id: 't2', bundle })).rejects.toThrow('--console-socket');
    await expect(create({ root, id: 't3', bundle, consoleSocket: join(tmp, 'none.sock') })).rejects.toThrow(
      'connect to console socket',
    );
    expect(list({ root }).map((c) => c.id)).toEqual([]);
  });
});
