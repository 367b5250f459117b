import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DirectResponse, directGet, NotDirect } from '../src/direct.ts';

// A raw TCP server answers each request path with fixed bytes, so the tests control
// the exact framing the direct reader sees.
const answers = new Map<string, string | Buffer>();
let server: Server;
let base: string;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let head = '';
    socket.on('data', (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.split(' ')[1] ?? '';
      const answer = answers.get(path);
      if (answer === undefined) socket.destroy();
      else socket.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const get = (path: string, headers: Record<string, string> = {}): Promise<DirectResponse> =>
  directGet({ url: new URL(path, base), headers, tls: {}, timeoutMs: 2000 });

async function text(res: DirectResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('direct GET reader', () => {
  it('reads Content-Length, chunked and close-delimited bodies, as a stream and drained', async () => {
    answers.set('/length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello');
    answers.set(
      '/chunked',
      'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nnot \r\n5\r\nfound\r\n0\r\nTrailer: x\r\n\r\n',
    );
    answers.set('/close', 'HTTP/1.0 200 OK\r\n\r\nuntil the end');
    answers.set('/empty', 'HTTP/1.1 204 No Content\r\n\r\n');
    const length = await get('/length');
    expect(length.statusCode).toBe(200);
    expect(length.headers['x-a']).toEqual(['1', '2']);
    expect(await text(length)).toBe('hello');
    const chunked = await get('/chunked');
    expect(chunked.statusCode).toBe(404);
    expect(await text(chunked)).toBe('not found');
    expect(await text(await get('/close'))).toBe('until the end');
    expect(await text(await get('/empty'))).toBe('');
    const drained: string[] = [];
    await (await get('/chunked')).body.drainInto((c) => {
      drained.push(c.toString());
    });
    expect(drained.join('')).toBe('not found');
  });

  it('drains in order what was buffered before, and waits for an async sink before reading on', async () => {
    const body = Buffer.alloc(3 << 20);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i);
    answers.set(
      '/big',
      Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
    );
    const res = await get('/big');
    // Let the Readable fill up and its push wait for room, then switch to draining.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const got: Buffer[] = [];
    let active = 0;
    let overlapped = false;
    let overwritten = false;
    await res.body.drainInto(async (chunk) => {
      const copy = Buffer.from(chunk);
      got.push(copy);
      overlapped ||= active > 0;
      active++;
      await new Promise((resolve) => setTimeout(resolve, 1));
      // The read buffer must not be refilled while its bytes are still being consumed.
      overwritten ||= !chunk.equals(copy);
      active--;
    });
    expect(Buffer.concat(got).equals(body)).toBe(true);
    expect({ overlapped, overwritten }).toEqual({ overlapped: false, overwritten: false });
  });

  it('leaves odd framing to undici and refuses header injection', async () => {
    answers.set('/two-lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!');
    answers.set('/gzip', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n');
    answers.set('/continue', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    answers.set('/folded', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n');
    for (const path of ['/two-lengths', '/gzip', '/continue', '/folded']) {
      await expect(get(path)).rejects.toBeInstanceOf(NotDirect);
    }
    await expect(get('/length', { authorization: 'Bearer x\r\nX-Injected: 1' })).rejects.toBeInstanceOf(
      NotDirect,
    );
  });

  it('fails a body cut short or with a malformed chunk, as a transient socket error', async () => {
    answers.set('/short', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello');
    answers.set(
      '/bad-chunk',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    );
    answers.set(
      '/endless-trailer',
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${'X-T: 0123456789\r\n'.repeat(5000)}\r\n`,
    );
    const short = await get('/short');
    await expect(short.body.drainInto(() => undefined)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    await expect(text(await get('/bad-chunk'))).rejects.toThrow(/chunk size is malformed/);
    await expect(text(await get('/endless-trailer'))).rejects.toThrow(/trailer section is too large/);
  });

  it('reports a TLS handshake with a plain-HTTP server by OpenSSL code, not as a write error', async () => {
    const plain = createServer((socket) =>
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')),
    );
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const address = plain.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    try {
      await expect(
        directGet({
          url: new URL(`https://127.0.0.1:${address.port}/v2/`),
          headers: {},
          tls: {},
          timeoutMs: 2000,
        }),
      ).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_SSL_/) });
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  it('stops on abort', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      directGet({
        url: new URL('/length', base),
        headers: {},
        tls: {},
        timeoutMs: 2000,
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});
