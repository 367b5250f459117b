import { readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { RuntimeConfig } from '@ctr/spec';
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
  it('sends a working pty master from the container devpts; the slave is its terminal and /dev/console', async () => {
    const socketPath = join(tmp, 'console.sock');
    // pauseOnConnect: node must not read (and drop) the message carrying the fd.
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((r) => server.listen(socketPath, r));
    const connected = new Promise<Socket>((r) => server.once('connection', r));
    const bundle = makeBundle(join(tmp, 'b'), {
      terminal: true,
      consoleSize: { height: 33, width: 101 },
      args: [
        'sh',
        '-c',
        'test -t 0 && echo tty; tty; stat -c %t:%T /dev/console; stty size; echo done; read line; echo "got $line"',
      ],
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
    // runc's answer: the container's own devpts numbers from 0; /dev/console is that
    // slave (major 136 = 0x88), not a host pty.
    expect(out).toMatch(/^tty\r\n\/dev\/pts\/0\r\n88:0\r\n33 101\r\n/);
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

  it('refuses a terminal when the container has no devpts of its own', async () => {
    const socketPath = join(tmp, 'console2.sock');
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((r) => server.listen(socketPath, r));
    const bundle = makeBundle(join(tmp, 'b4'), { terminal: true });
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as RuntimeConfig;
    config.mounts = config.mounts!.filter((m) => m.destination !== '/dev/pts');
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    await expect(create({ root, id: 't4', bundle, consoleSocket: socketPath })).rejects.toThrow(
      /rootfs: open the terminal \/dev\/pts\/ptmx in the container: ENOENT — process.terminal needs a devpts mount/,
    );
    // A tmpfs in its place is not the container's devpts, whatever it holds.
    config.mounts.push({ destination: '/dev/pts', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    await expect(create({ root, id: 't5', bundle, consoleSocket: socketPath })).rejects.toThrow(
      /rootfs: open the terminal \/dev\/pts\/ptmx in the container — \/dev\/pts is not a devpts filesystem/,
    );
    server.close();
    expect(list({ root }).map((c) => c.id)).toEqual([]);
  });
});
