import { createWriteStream, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type BuiltImage,
  busyboxImage,
  type FaultProxy,
  makeTmp,
  needsCommand,
  type RegistryServer,
  removeTmp,
  runnable,
  startFaultProxy,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient, RegistryError, type RetryEvent, staticCredentials } from '../src/index.ts';
import { collect, pushImage } from './push-image.ts';

describe.runIf(
  runnable('registry faults through a proxy in front of docker-registry', needsCommand('docker-registry')),
)('faults', () => {
  let registry: RegistryServer;
  let proxy: FaultProxy;
  let image: BuiltImage;
  let client: RegistryClient;
  const BLOB = /\/blobs\/sha256:/;

  beforeAll(async () => {
    registry = await startRegistry();
    image = await busyboxImage();
    const direct = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}) });
    await pushImage(direct, `${registry.host}/faults/busybox`, 'latest', image);
    await direct.close();
  });
  afterAll(async () => registry?.stop());

  let retries: RetryEvent[] = [];
  beforeEach(() => {
    retries = [];
  });
  const start = async (opts: { stallTimeoutMs?: number; attempts?: number } = {}) => {
    proxy = await startFaultProxy(registry.url);
    client = new RegistryClient({
      plainHttp: true,
      credentials: staticCredentials({}),
      retry: { baseDelayMs: 10, maxDelayMs: 2000, attempts: opts.attempts ?? 5 },
      ...(opts.stallTimeoutMs ? { stallTimeoutMs: opts.stallTimeoutMs } : {}),
      onRetry: (e) => retries.push(e),
    });
  };
  afterEach(async () => {
    await client?.close();
    await proxy?.stop();
  });

  const layer = () => {
    const l = image.layers[0];
    if (!l) throw new Error('no layer');
    return l;
  };
  const repo = () => `${proxy.host}/faults/busybox`;
  const blobGets = () => proxy.requests.filter((r) => r.method === 'GET' && BLOB.test(r.url));

  it('resumes a dropped download with a Range request from the byte it stopped at', async () => {
    await start();
    proxy.inject({ method: 'GET', path: BLOB, fault: { kind: 'drop', afterBytes: 100_000 } });
    const bytes = await collect(client.fetchBlob(repo(), layer().descriptor));
    expect(bytes.equals(layer().bytes)).toBe(true);
    expect(blobGets().map((r) => r.range)).toEqual([undefined, 'bytes=100000-']);
    expect(retries).toMatchObject([
      { what: `GET /v2/faults/busybox/blobs/${layer().descriptor.digest}`, attempt: 1, resumeAt: 100_000 },
    ]);
  });

  it('skips what it has when the server ignores the Range and sends everything', async () => {
    await start();
    proxy.inject({ method: 'GET', path: BLOB, fault: { kind: 'drop', afterBytes: 70_000 } });
    proxy.inject({ method: 'GET', path: BLOB, fault: { kind: 'ignore-range' } });
    const bytes = await collect(client.fetchBlob(repo(), layer().descriptor));
    expect(bytes.equals(layer().bytes)).toBe(true);
    expect(blobGets().map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      ['bytes=70000-', 200],
    ]);
  });

  it('resumes after a stalled connection', async () => {
    await start({ stallTimeoutMs: 300 });
    proxy.inject({ method: 'GET', path: BLOB, fault: { kind: 'stall', afterBytes: 50_000 } });
    const bytes = await collect(client.fetchBlob(repo(), layer().descriptor));
    expect(bytes.equals(layer().bytes)).toBe(true);
    expect(blobGets().map((r) => r.range)).toEqual([undefined, 'bytes=50000-']);
  });

  it('retries 500 and 429 (honouring Retry-After) on manifests and blobs', async () => {
    await start();
    proxy.inject({ path: /\/manifests\//, fault: { kind: 'status', status: 500 }, times: 2 });
    proxy.inject({ path: BLOB, fault: { kind: 'status', status: 429, retryAfter: 1 } });
    const got = await client.getManifest(`${repo()}:latest`);
    expect(got.descriptor.digest).toBe(image.manifest.descriptor.digest);
    const bytes = await collect(client.fetchBlob(repo(), layer().descriptor));
    expect(bytes.equals(layer().bytes)).toBe(true);
    expect(proxy.requests.map((r) => r.status)).toEqual([500, 500, 200, 429, 200]);
    expect(retries.map((e) => [e.reason, e.attempt])).toEqual([
      ['HTTP 500', 1],
      ['HTTP 500', 2],
      ['HTTP 429', 1],
    ]);
    // Retry-After: 1 is honoured as given.
    expect(retries[2]?.delayMs).toBe(1000);
  });

  it('gives up after the retry limit with a typed error carrying the status', async () => {
    await start({ attempts: 3 });
    proxy.inject({ path: /\/manifests\//, fault: { kind: 'status', status: 503 }, times: 10 });
    const err = await client.getManifest(`${repo()}:latest`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ kind: 'http', status: 503, codes: ['INJECTED'] });
    expect(proxy.requests).toHaveLength(3);
  });

  it('errors with digest-mismatch on a corrupted byte, before the stream ends, leaving no file behind', async () => {
    await start();
    proxy.inject({ method: 'GET', path: BLOB, fault: { kind: 'corrupt', atByte: 12_345 } });
    const dir = makeTmp();
    try {
      const partial = join(dir, 'blob.partial');
      let ended = false;
      const stream = client.fetchBlob(repo(), layer().descriptor);
      stream.on('end', () => (ended = true));
      const err = await pipeline(stream, createWriteStream(partial)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).kind).toBe('digest-mismatch');
      expect(ended).toBe(false);
      // The same client fetches the intact blob afterwards.
      const bytes = await collect(client.fetchBlob(repo(), layer().descriptor));
      expect(bytes.equals(layer().bytes)).toBe(true);
      expect(existsSync(partial)).toBe(true);
    } finally {
      removeTmp(dir);
    }
  });

  it('fails with a transport error when the connection keeps dropping without progress', async () => {
    await start({ attempts: 3 });
    proxy.inject({ method: 'GET', path: BLOB, fault: { kind: 'drop', afterBytes: 0 }, times: 10 });
    const err = await collect(client.fetchBlob(repo(), layer().descriptor)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).kind).toBe('transport');
  });

  it('follows a redirect to another origin without sending the Authorization header there', async () => {
    await start();
    // A front that demands Basic auth and redirects blob reads elsewhere, as registries
    // backed by object storage do; the redirect target is the proxy, which logs headers.
    const front: Server = createServer((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="front"' }).end();
        return;
      }
      res.writeHead(307, { location: `${proxy.url}${req.url}` }).end();
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(front.address() as AddressInfo).port}`;
    const authed = new RegistryClient({
      plainHttp: true,
      credentials: staticCredentials({ [host]: { username: 'u', password: 'p' } }),
    });
    try {
      const bytes = await collect(authed.fetchBlob(`${host}/faults/busybox`, layer().descriptor));
      expect(bytes.equals(layer().bytes)).toBe(true);
      expect(blobGets()).toHaveLength(1);
      expect(blobGets()[0]?.authorization).toBe(false);
    } finally {
      await authed.close();
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    }
  });
});
