import type { Dispatcher } from 'undici';
import { readLimited } from '../body.ts';
import { RegistryError } from '../errors.ts';
import type { Challenge } from './challenge.ts';
import type { CredentialLookup, Credentials } from './credentials.ts';

/** Sends a GET for a token to the realm; provided by the transport so TLS settings apply. */
export type TokenFetch = (
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
) => Promise<Dispatcher.ResponseData>;

interface CachedToken {
  header: string;
  expiresAt: number;
}

// distribution's default token lifetime when the server does not say (token spec: 60 s).
const DEFAULT_TOKEN_SECONDS = 60;
const MAX_TOKEN_BYTES = 1 << 20;

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/**
 * Answers registry challenges: Basic with the stored credentials, Bearer through the
 * token flow of the distribution token spec (realm, service, scope; anonymous when no
 * credentials), caching tokens per registry origin and scope until they expire.
 */
export class Authenticator {
  readonly #lookup: CredentialLookup;
  readonly #fetch: TokenFetch;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #basicHosts = new Set<string>();

  constructor(lookup: CredentialLookup, fetch: TokenFetch) {
    this.#lookup = lookup;
    this.#fetch = fetch;
  }

  /** The Authorization header to send first, from what earlier challenges taught. */
  async headerFor(registry: string, origin: string, scopes: string[]): Promise<string | undefined> {
    if (this.#basicHosts.has(origin)) {
      const creds = await this.#lookup(registry);
      return creds && creds.identityToken === undefined ? basic(creds) : undefined;
    }
    const cached = this.#tokens.get(`${origin} ${scopes.join(' ')}`);
    if (cached && cached.expiresAt > Date.now()) return cached.header;
    return undefined;
  }

  /** Forgets what is cached for origin and scopes (after a 401 with a cached token). */
  invalidate(origin: string, scopes: string[]): void {
    this.#tokens.delete(`${origin} ${scopes.join(' ')}`);
  }

  /** Handles a 401: returns the header to retry with, or throws a RegistryError saying why not. */
  async answer(registry: string, origin: string, scopes: string[], challenges: Challenge[]): Promise<string> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const creds = await this.#lookup(registry);
    if (bearer) return this.#bearer(registry, origin, scopes, bearer, creds);
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!creds || creds.identityToken !== undefined) {
        throw new RegistryError({
          kind: 'auth',
          op: `authenticate to ${registry}`,
          status: 401,
          hint: creds
            ? `the registry wants a username and password, but only an identity token is stored for ${registry}`
            : `the registry wants a username and password; log in (auth file or credential helper) for ${registry}`,
        });
      }
      this.#basicHosts.add(origin);
      return basic(creds);
    }
    throw new RegistryError({
      kind: 'unsupported',
      op: `authenticate to ${registry}`,
      status: 401,
      hint: `the registry asks for ${challenges.map((c) => c.scheme).join(', ') || 'no known scheme'}; ctr speaks Basic and Bearer`,
    });
  }

  async #bearer(
    registry: string,
    origin: string,
    scopes: string[],
    challenge: Challenge,
    creds: Credentials | undefined,
  ): Promise<string> {
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new RegistryError({
        kind: 'auth',
        op: `authenticate to ${registry}`,
        hint: 'the Bearer challenge has no valid realm URL',
      });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError({
        kind: 'auth',
        op: `authenticate to ${registry}`,
        hint: `the token realm uses ${url.protocol}, not http(s)`,
      });
    }
    const wanted = mergeScopes(scopes, challenge.params.scope?.split(' ').filter(Boolean) ?? []);
    // Credentials go to the realm only over TLS, unless the registry itself is plain HTTP
    // on the same host (a local test registry).
    if (creds) {
      const registryUrl = new URL(origin);
      if (
        url.protocol === 'http:' &&
        (registryUrl.protocol !== 'http:' || url.hostname !== registryUrl.hostname)
      ) {
        throw new RegistryError({
          kind: 'auth',
          op: `send credentials for ${registry} to its token realm`,
          path: url.origin,
          hint: 'the realm is plain HTTP (and the registry is not a plain-HTTP registry on the same host); refusing to send credentials there',
        });
      }
    }
    let res: Dispatcher.ResponseData;
    if (creds?.identityToken !== undefined) {
      // The token spec's OAuth2 flow: a refresh token is exchanged by POST, never sent as Basic.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'ctr',
        ...(challenge.params.service ? { service: challenge.params.service } : {}),
        scope: wanted.join(' '),
      });
      res = await this.#fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } else {
      if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
      for (const s of wanted) url.searchParams.append('scope', s);
      res = await this.#fetch(url, { method: 'GET', headers: creds ? { authorization: basic(creds) } : {} });
    }
    const text = await readLimited(res, MAX_TOKEN_BYTES);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new RegistryError({
        kind: 'auth',
        op: `get a token for ${scopes.join(' ')}`,
        path: url.origin + url.pathname,
        status: res.statusCode,
        hint: creds
          ? `the token server rejected the credentials for ${registry}`
          : `anonymous access is refused; log in to ${registry}`,
      });
    }
    if (res.statusCode !== 200) {
      throw new RegistryError({
        kind: 'auth',
        op: `get a token for ${scopes.join(' ')}`,
        path: url.origin + url.pathname,
        status: res.statusCode,
      });
    }
    let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new RegistryError({
        kind: 'auth',
        op: 'read the token answer',
        path: url.origin + url.pathname,
        hint: 'the token server did not answer JSON',
      });
    }
    // The token spec names it `token`; OAuth2 servers answer `access_token`. Either will do.
    const token = body.token ?? body.access_token;
    if (!token)
      throw new RegistryError({
        kind: 'auth',
        op: 'read the token answer',
        path: url.origin + url.pathname,
        hint: 'the answer holds no token',
      });
    const seconds =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    const header = `Bearer ${token}`;
    // Renew a little early so a token does not expire between check and use.
    this.#tokens.set(`${origin} ${scopes.join(' ')}`, {
      header,
      expiresAt: Date.now() + Math.max(seconds - 5, 1) * 1000,
    });
    return header;
  }
}

/**
 * Our scopes plus those a challenge names (distribution's insufficient_scope answer
 * may need more than we asked), actions merged per resource: `repository:a:pull,push`
 * and `repository:a:pull` ask for one resource, not two.
 */
export function mergeScopes(ours: string[], theirs: string[]): string[] {
  const merged = new Map<string, string[]>();
  for (const scope of [...ours, ...theirs]) {
    const cut = scope.lastIndexOf(':');
    if (cut <= 0) continue;
    const resource = scope.slice(0, cut);
    const actions = merged.get(resource) ?? [];
    for (const a of scope.slice(cut + 1).split(',')) if (a && !actions.includes(a)) actions.push(a);
    merged.set(resource, actions);
  }
  return [...merged].map(([resource, actions]) => `${resource}:${actions.join(',')}`);
}
