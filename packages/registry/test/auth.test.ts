import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BuiltImage,
  buildImage,
  makeCerts,
  makeTmp,
  needsCommand,
  type RegistryServer,
  removeTmp,
  runnable,
  startFaultProxy,
  startRegistry,
  startTokenIssuer,
  type TestCerts,
  type TokenIssuer,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFileCredentials, RegistryClient, RegistryError, staticCredentials } from '../src/index.ts';
import { pushImage } from './push-image.ts';

const haveRegistry = runnable(
  'registry auth and TLS against docker-registry',
  needsCommand('docker-registry'),
  needsCommand('openssl'),
  needsCommand('htpasswd', 'apache2-utils'),
);
const SECRET = 'pa55-w0rd-never-logged';
const REFRESH = 'refresh-token-never-logged';

let image: BuiltImage;
const tmps: string[] = [];
beforeAll(async () => {
  image = await buildImage({ layers: [{ entries: [{ path: 'hello', type: 'file', content: 'hello\n' }] }] });
});
afterAll(() => {
  for (const t of tmps) removeTmp(t);
});

function tmp(): string {
  const d = makeTmp();
  tmps.push(d);
  return d;
}

/** certs.d/<host>/ca.crt (+ client.cert/key) as docker and podman lay it out. */
function certsDir(host: string, certs: TestCerts, client = false): string {
  const base = tmp();
  const dir = join(base, host);
  mkdirSync(dir);
  writeFileSync(join(dir, 'ca.crt'), certs.caPem);
  if (client) {
    writeFileSync(join(dir, 'client.cert'), readFileSync(certs.clientCert));
    writeFileSync(join(dir, 'client.key'), readFileSync(certs.clientKey));
  }
  return base;
}

async function errorOf(p: Promise<unknown>): Promise<RegistryError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RegistryError);
  return e as RegistryError;
}

describe.runIf(haveRegistry)('TLS', () => {
  let registry: RegistryServer;
  afterAll(async () => registry?.stop());
  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
  });

  it('refuses an unknown CA with a hint, trusts certs.d, and skips verification only on opt-in', async () => {
    const ref = `${registry.host}/tls/img:latest`;
    const plain = new RegistryClient({ credentials: staticCredentials({}), certsDir: tmp() });
    const err = await errorOf(plain.getManifest(ref));
    expect(err.kind).toBe('transport');
    expect(err.hint).toContain('--skip-verify');
    await plain.close();

    const trusted = new RegistryClient({
      credentials: staticCredentials({}),
      certsDir: certsDir(registry.host, registry.certs as TestCerts),
    });
    await pushImage(trusted, `${registry.host}/tls/img`, 'latest', image);
    expect((await trusted.getManifest(ref)).descriptor.digest).toBe(image.manifest.descriptor.digest);
    await trusted.close();

    const insecure = new RegistryClient({
      credentials: staticCredentials({}),
      certsDir: tmp(),
      skipVerify: [registry.host],
    });
    expect((await insecure.getManifest(ref)).descriptor.digest).toBe(image.manifest.descriptor.digest);
    await insecure.close();
  });
});

describe.runIf(haveRegistry)('TLS with client certificates', () => {
  let registry: RegistryServer;
  afterAll(async () => registry?.stop());
  beforeAll(async () => {
    registry = await startRegistry({ tls: makeCerts(tmp()), clientAuth: true });
  });

  it('presents client.cert/client.key from certs.d', async () => {
    const certs = registry.certs as TestCerts;
    const without = new RegistryClient({
      credentials: staticCredentials({}),
      certsDir: certsDir(registry.host, certs),
      retry: { attempts: 1 },
    });
    expect((await errorOf(without.listTags(`${registry.host}/x/y`))).kind).toBe('transport');
    await without.close();
    const withCert = new RegistryClient({
      credentials: staticCredentials({}),
      certsDir: certsDir(registry.host, certs, true),
    });
    await pushImage(withCert, `${registry.host}/mtls/img`, 'v1', image);
    expect(await withCert.listTags(`${registry.host}/mtls/img`)).toEqual(['v1']);
    await withCert.close();
  });
});

describe.runIf(haveRegistry)('htpasswd Basic auth', () => {
  let registry: RegistryServer;
  afterAll(async () => registry?.stop());
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { alice: SECRET } });
  });

  it('answers the Basic challenge with credentials from an auth file, never echoing them', async () => {
    const dir = tmp();
    const authFile = join(dir, 'auth.json');
    writeFileSync(
      authFile,
      JSON.stringify({
        auths: { [registry.host]: { auth: Buffer.from(`alice:${SECRET}`).toString('base64') } },
      }),
    );
    const client = new RegistryClient({ plainHttp: true, credentials: authFileCredentials([authFile]) });
    await pushImage(client, `${registry.host}/basic/img`, 'latest', image);
    expect((await client.getManifest(`${registry.host}/basic/img`)).descriptor.digest).toBe(
      image.manifest.descriptor.digest,
    );
    await client.close();

    const anonymous = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}) });
    const err = await errorOf(anonymous.getManifest(`${registry.host}/basic/img`));
    expect(err.kind).toBe('auth');
    await anonymous.close();

    const wrong = new RegistryClient({
      plainHttp: true,
      credentials: staticCredentials({ [registry.host]: { username: 'alice', password: `${SECRET}x` } }),
    });
    const err2 = await errorOf(wrong.getManifest(`${registry.host}/basic/img`));
    expect(err2).toMatchObject({ kind: 'auth', status: 401 });
    expect(JSON.stringify(err2.toJSON()) + err2.message + String(err2.stack)).not.toContain(SECRET);
    await wrong.close();
  });

  it('asks a docker-credential helper named in credHelpers', async () => {
    const dir = tmp();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // A real helper process speaking the protocol: server URL on stdin, JSON on stdout.
    writeFileSync(
      join(bin, 'docker-credential-ctrtest'),
      `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${registry.host}" ]; then printf '{"ServerURL":"%s","Username":"alice","Secret":"${SECRET}"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi\n`,
    );
    chmodSync(join(bin, 'docker-credential-ctrtest'), 0o755);
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ credHelpers: { [registry.host]: 'ctrtest' }, credsStore: 'ctrtest' }),
    );
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const lookup = authFileCredentials([config]);
      expect(await lookup('other.example:5000')).toBeUndefined();
      const client = new RegistryClient({ plainHttp: true, credentials: lookup });
      expect((await client.getManifest(`${registry.host}/basic/img`)).descriptor.digest).toBe(
        image.manifest.descriptor.digest,
      );
      await client.close();
    } finally {
      process.env.PATH = path;
    }
  });
});

describe.runIf(haveRegistry)('token auth', () => {
  let registry: RegistryServer;
  let issuer: TokenIssuer;
  afterAll(async () => {
    await registry?.stop();
    await issuer?.stop();
  });
  beforeAll(async () => {
    issuer = await startTokenIssuer({
      certs: makeCerts(tmp()),
      users: { bob: SECRET },
      refreshTokens: { [REFRESH]: 'bob' },
      field: 'access_token',
    });
    registry = await startRegistry({ token: issuer });
  });

  it('gets scoped tokens, caches them per scope, pulls anonymously and refuses anonymous push', async () => {
    const bob = new RegistryClient({
      plainHttp: true,
      credentials: staticCredentials({ [registry.host]: { username: 'bob', password: SECRET } }),
    });
    await pushImage(bob, `${registry.host}/tok/img`, 'latest', image);
    const pushTokens = issuer.requests.filter((r) => r.user === 'bob');
    expect(pushTokens.some((r) => r.granted.includes('repository:tok/img:pull,push'))).toBe(true);
    // One token for the push scope serves every blob and manifest of the push.
    expect(pushTokens.filter((r) => r.scopes.join(' ') === 'repository:tok/img:pull,push')).toHaveLength(1);
    await bob.close();

    const anon = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}) });
    const before = issuer.requests.length;
    expect((await anon.getManifest(`${registry.host}/tok/img`)).descriptor.digest).toBe(
      image.manifest.descriptor.digest,
    );
    await anon.getManifest(`${registry.host}/tok/img`);
    expect(issuer.requests.length - before).toBe(1);
    expect(issuer.requests.at(-1)).toMatchObject({ user: undefined, service: issuer.service });
    const layer = image.layers[0];
    if (!layer) throw new Error('no layer');
    const err = await errorOf(anon.pushBlob(`${registry.host}/tok/other`, layer.bytes, layer.descriptor));
    expect(['auth', 'denied']).toContain(err.kind);
    await anon.close();
  });

  it('exchanges an identity token from an auth file for access tokens by POST', async () => {
    const dir = tmp();
    const authFile = join(dir, 'auth.json');
    writeFileSync(
      authFile,
      JSON.stringify({ auths: { [registry.host]: { auth: '', identitytoken: REFRESH } } }),
    );
    const client = new RegistryClient({ plainHttp: true, credentials: authFileCredentials([authFile]) });
    const before = issuer.requests.length;
    await pushImage(client, `${registry.host}/oauth/img`, 'latest', image);
    expect(issuer.requests.length).toBeGreaterThan(before);
    expect(issuer.requests.slice(before).every((r) => r.user === 'bob')).toBe(true);
    expect(issuer.requests.at(-1)?.granted).toContain('repository:oauth/img:pull,push');
    await client.close();
    writeFileSync(authFile, JSON.stringify({ auths: { [registry.host]: { identitytoken: 'wrong' } } }));
    const wrong = new RegistryClient({ plainHttp: true, credentials: authFileCredentials([authFile]) });
    const err = await errorOf(wrong.getManifest(`${registry.host}/oauth/img`));
    expect(err).toMatchObject({ kind: 'auth', status: 401 });
    expect(err.message).not.toContain('wrong');
    await wrong.close();
  });

  it('fetches a new token when the registry rejects a cached one', async () => {
    const proxy = await startFaultProxy(registry.url);
    const client = new RegistryClient({
      plainHttp: true,
      credentials: staticCredentials({ [proxy.host]: { username: 'bob', password: SECRET } }),
    });
    try {
      await client.getManifest(`${proxy.host}/tok/img`);
      const before = issuer.requests.length;
      // As a registry does after rotating its signing key: the cached token is refused once.
      proxy.inject({
        path: /\/manifests\//,
        fault: {
          kind: 'respond',
          status: 401,
          headers: {
            'www-authenticate': `Bearer realm="${issuer.realm}",service="${issuer.service}",scope="repository:tok/img:pull"`,
          },
        },
      });
      expect((await client.getManifest(`${proxy.host}/tok/img`)).descriptor.digest).toBe(
        image.manifest.descriptor.digest,
      );
      expect(issuer.requests.length - before).toBe(1);
      const manifestGets = proxy.requests.filter((r) => r.url.includes('/manifests/'));
      expect(manifestGets.slice(-2).map((r) => [r.authorization, r.status])).toEqual([
        [true, 401],
        [true, 200],
      ]);
    } finally {
      await client.close();
      await proxy.stop();
    }
  });

  it('reports rejected credentials at the token server without repeating them', async () => {
    const bad = new RegistryClient({
      plainHttp: true,
      credentials: staticCredentials({ [registry.host]: { username: 'bob', password: 'nope' } }),
    });
    const err = await errorOf(bad.getManifest(`${registry.host}/tok/img`));
    expect(err).toMatchObject({ kind: 'auth', status: 401 });
    expect(err.hint).toContain('rejected the credentials');
    expect(err.message).not.toContain('nope');
    await bad.close();
  });
});

describe.runIf(haveRegistry)('token auth with short-lived tokens in the `token` field', () => {
  let registry: RegistryServer;
  let issuer: TokenIssuer;
  afterAll(async () => {
    await registry?.stop();
    await issuer?.stop();
  });
  beforeAll(async () => {
    issuer = await startTokenIssuer({
      certs: makeCerts(tmp()),
      users: { bob: SECRET },
      field: 'token',
      expiresIn: 1,
    });
    registry = await startRegistry({ token: issuer });
  });

  it('asks for a new token once the cached one has expired', async () => {
    const bob = new RegistryClient({
      plainHttp: true,
      credentials: staticCredentials({ [registry.host]: { username: 'bob', password: SECRET } }),
    });
    await pushImage(bob, `${registry.host}/short/img`, 'latest', image);
    const before = issuer.requests.length;
    await bob.getManifest(`${registry.host}/short/img`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await bob.getManifest(`${registry.host}/short/img`);
    expect(issuer.requests.length - before).toBe(2);
    await bob.close();
  });
});
