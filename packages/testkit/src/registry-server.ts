import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeCerts, type TestCerts } from './certs.ts';
import { makeTmp, removeTmp } from './tmp.ts';
import type { TokenIssuer } from './token-issuer.ts';

export const DOCKER_REGISTRY = '/usr/bin/docker-registry';

export interface RegistryServerOptions {
  /** Serve HTTPS with certificates from makeCerts (true: made fresh for 127.0.0.1). */
  tls?: boolean | TestCerts;
  /** With TLS: also demand a client certificate issued by the test CA. */
  clientAuth?: boolean;
  /** htpasswd Basic auth (bcrypt entries made with `htpasswd -Bbn`). */
  htpasswd?: Record<string, string>;
  /** distribution's `auth: token` against this issuer. */
  token?: TokenIssuer;
}

export interface RegistryServer {
  /** `http://127.0.0.1:PORT` or `https://…`. */
  url: string;
  /** `127.0.0.1:PORT`, the registry part of a reference. */
  host: string;
  port: number;
  certs: TestCerts | undefined;
  /** Where the registry stores blobs and manifests. */
  storage: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function probe(url: string, certs: TestCerts | undefined, clientAuth: boolean): Promise<number> {
  const tls = certs
    ? {
        ca: certs.caPem,
        ...(clientAuth ? { cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } : {}),
      }
    : {};
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(`${url}/v2/`, tls, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts Debian's docker-registry (CNCF distribution) on a free 127.0.0.1 port with
 * filesystem storage in a fresh temp dir, and waits until /v2/ answers. The process
 * is tied to this one: setpriv's parent-death signal kills it if the test runner dies.
 */
export async function startRegistry(opts: RegistryServerOptions = {}): Promise<RegistryServer> {
  const dir = makeTmp('ctr-registry-');
  const storage = join(dir, 'storage');
  const certs = opts.tls === true ? makeCerts(dir) : opts.tls || undefined;
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: ctr-test-secret',
  ];
  if (certs) {
    lines.push('  tls:', `    certificate: ${certs.serverCert}`, `    key: ${certs.serverKey}`);
    if (opts.clientAuth) lines.push('    clientcas:', `      - ${certs.caCert}`);
  }
  if (opts.htpasswd) {
    const file = join(dir, 'htpasswd');
    const entries = Object.entries(opts.htpasswd).map(([user, pass]) =>
      execFileSync('htpasswd', ['-Bbn', user, pass], { encoding: 'utf8' }).trim(),
    );
    writeFileSync(file, `${entries.join('\n')}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: ctr-test', `    path: ${file}`);
  } else if (opts.token) {
    const t = opts.token;
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${t.realm}`,
      `    service: ${t.service}`,
      `    issuer: ${t.issuer}`,
      `    rootcertbundle: ${t.rootCertBundle}`,
    );
  }
  const config = join(dir, 'config.yml');
  writeFileSync(config, `${lines.join('\n')}\n`);

  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', DOCKER_REGISTRY, 'serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
    live.delete(child);
  });
  const url = `${certs ? 'https' : 'http'}://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
    removeTmp(dir);
  };
  for (let i = 0; ; i++) {
    if (exited) {
      removeTmp(dir);
      throw new Error(`testkit: docker-registry exited before answering: ${stderr.trim()}`);
    }
    try {
      // Any answer (200, or 401 with auth) means it is serving.
      await probe(url, certs, opts.clientAuth === true);
      break;
    } catch (err) {
      if (i > 200) {
        await stop();
        throw new Error(`testkit: docker-registry did not answer on ${url}: ${String(err)} ${stderr.trim()}`);
      }
      await sleep(50);
    }
  }
  return { url, host: `127.0.0.1:${port}`, port, certs, storage, stop };
}
