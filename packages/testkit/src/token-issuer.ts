import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestCerts } from './certs.ts';

export interface TokenIssuerOptions {
  /** The CA whose key signs tokens; the registry trusts its certificate (rootcertbundle). */
  certs: TestCerts;
  /** user → password; these get pull and push on every repository. */
  users?: Record<string, string>;
  /** OAuth2 refresh token → user, accepted by POST (grant_type=refresh_token), as docker's identity tokens are. */
  refreshTokens?: Record<string, string>;
  /** Whether requests without credentials get pull access (default true). */
  anonymousPull?: boolean;
  service?: string;
  issuer?: string;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
  /** Which JSON field carries the token: the token spec's `token`, OAuth2's `access_token`, or both (default). */
  field?: 'token' | 'access_token' | 'both';
}

/** One token request as the issuer saw it. */
export interface TokenRequest {
  user: string | undefined;
  scopes: string[];
  service: string | undefined;
  granted: string[];
}

export interface TokenIssuer {
  /** The realm URL to configure in the registry (`auth.token.realm`). */
  realm: string;
  service: string;
  issuer: string;
  /** PEM bundle the registry verifies token signatures against (`auth.token.rootcertbundle`). */
  rootCertBundle: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

const b64url = (v: Buffer | string): string => Buffer.from(v).toString('base64url');

/**
 * A token server for distribution's `auth: token`: checks Basic credentials, grants
 * scopes and answers a JWT signed ES256 by the test CA's key, with the CA certificate
 * in the `x5c` header so the registry can chain it to its rootcertbundle.
 */
export async function startTokenIssuer(opts: TokenIssuerOptions): Promise<TokenIssuer> {
  const service = opts.service ?? 'ctr-test-registry';
  const issuer = opts.issuer ?? 'ctr-test-issuer';
  const key = createPrivateKey(readFileSync(opts.certs.caKey));
  const certDer = new X509Certificate(opts.certs.caPem).raw;
  const requests: TokenRequest[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse, form: URLSearchParams | undefined): void => {
    const url = new URL(req.url ?? '/', 'http://issuer');
    let user: string | undefined;
    if (form) {
      const owner = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
      if (form.get('grant_type') !== 'refresh_token' || owner === undefined) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad refresh token"}');
        return;
      }
      user = owner;
      url.searchParams.set('service', form.get('service') ?? '');
      for (const s of (form.get('scope') ?? '').split(' ').filter(Boolean))
        url.searchParams.append('scope', s);
    }
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [name = '', ...rest] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (opts.users?.[name] === undefined || opts.users[name] !== rest.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      user = name;
    }
    const scopes = url.searchParams.getAll('scope');
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const scope of scopes.flatMap((s) => s.split(' '))) {
      const [type = '', name = '', actions = ''] = scope.split(':');
      const wanted = actions.split(',').filter(Boolean);
      const allowed =
        user !== undefined ? wanted : (opts.anonymousPull ?? true) ? wanted.filter((a) => a === 'pull') : [];
      if (allowed.length) access.push({ type, name, actions: allowed });
    }
    requests.push({
      user,
      scopes,
      service: url.searchParams.get('service') ?? undefined,
      granted: access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`),
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 300;
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    // JWS ES256 wants the raw r||s signature, not DER.
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(signature)}`;
    const field = opts.field ?? 'both';
    const body = {
      ...(field !== 'access_token' ? { token } : {}),
      ...(field !== 'token' ? { access_token: token } : {}),
      expires_in: expiresIn,
      issued_at: new Date(now * 1000).toISOString(),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    if (req.method !== 'POST') return handle(req, res, undefined);
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => handle(req, res, new URLSearchParams(body)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: opts.certs.caCert,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
