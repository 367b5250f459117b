import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnectionOptions, rootCertificates } from 'node:tls';
import type { Agent } from 'undici';
import { parseChallenges } from './auth/challenge.ts';
import type { CredentialLookup } from './auth/credentials.ts';
import { Authenticator } from './auth/tokens.ts';
import { discard, readLimited } from './body.ts';
import { directGet, NotDirect } from './direct.ts';
import { RegistryError, type RegistryErrorKind } from './errors.ts';

export interface RetryOptions {
  /** Attempts per request, the first included (default 5). */
  attempts?: number;
  /** First backoff delay; doubles per attempt with jitter (default 200 ms). */
  baseDelayMs?: number;
  /** Cap for backoff and for a server's Retry-After (default 10 s). */
  maxDelayMs?: number;
}

/** Told before each retry, for progress output and logs; carries no credentials or query strings. */
export interface RetryEvent {
  /** `GET /v2/<repo>/blobs/<digest>` and the like. */
  what: string;
  /** `HTTP 503`, an error code such as `ECONNRESET`, or `UND_ERR_BODY_TIMEOUT` for a stall. */
  reason: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** For a resumed download: the byte it resumes from. */
  resumeAt?: number;
}

export interface TransportOptions {
  credentials: CredentialLookup;
  plainHttp: boolean | string[];
  skipVerify: boolean | string[];
  certsDirs: string[];
  mirrors: Record<string, string[]>;
  retry: Required<RetryOptions>;
  userAgent: string;
  /** A connection that sends no byte for this long is dropped and retried (default 30 s). */
  stallTimeoutMs: number;
  onRetry: ((event: RetryEvent) => void) | undefined;
}

/** Where requests for a registry go: the registry itself or one of its mirrors. */
export interface Endpoint {
  /** The registry the credentials belong to (docker.io, localhost:5000). */
  registry: string;
  host: string;
  origin: string;
  mirror: boolean;
}

export interface SendRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path under the endpoint (/v2/...) or an absolute URL (an upload location). */
  target: string;
  headers?: Record<string, string>;
  /** A Buffer or a stream factory (called per attempt) can be replayed after a 401 or a failure; a Readable is sent once. */
  body?: Buffer | Readable | (() => Readable);
  scopes: string[];
  signal?: AbortSignal | undefined;
  /** Whether the request may be repeated after a failure (default: GET, HEAD, PUT with a Buffer). */
  idempotent?: boolean;
}

/** A response from undici or from the direct reader (whose body can also be drained without copies). */
export interface Response {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 64 * 1024;

function listed(option: boolean | string[], host: string): boolean {
  return option === true || (Array.isArray(option) && option.includes(host));
}

/** Reads `certs.d/<host>/`: `*.crt` are CAs, `*.cert` with a matching `*.key` a client pair. */
function hostTls(certsDirs: string[], host: string): { ca: string[]; cert?: string; key?: string } {
  const ca: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  for (const base of certsDirs) {
    // Docker and podman name the directory host:port.
    const dir = join(base, host);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (file.endsWith('.crt')) ca.push(readFileSync(join(dir, file), 'utf8'));
      if (file.endsWith('.cert') && cert === undefined) {
        const keyFile = join(dir, `${file.slice(0, -'.cert'.length)}.key`);
        if (!existsSync(keyFile)) {
          throw new RegistryError({
            kind: 'transport',
            op: 'load client certificate',
            path: join(dir, file),
            hint: `the matching key ${keyFile} is missing`,
          });
        }
        cert = readFileSync(join(dir, file), 'utf8');
        key = readFileSync(keyFile, 'utf8');
      }
    }
  }
  return { ca, ...(cert !== undefined ? { cert, key } : {}) };
}

function retryAfterMs(value: string | string[] | undefined, cap: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds)) return Math.min(Math.max(seconds, 0) * 1000, cap);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(date - Date.now(), 0), cap);
}

export function isAbort(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR')
  );
}

/** Whether a failure is worth another attempt: a dropped, refused, reset or stalled connection. */
export function isTransient(err: unknown): boolean {
  if (err instanceof RegistryError || isAbort(err) || !(err instanceof Error)) return false;
  // A certificate that fails verification fails the same way next time.
  return !isTlsVerification((err as { code?: string }).code);
}

function isTlsVerification(code: string | undefined): boolean {
  return code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME/.test(code);
}

function header(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The registry's error body turned into a RegistryError (codes kept, messages not trusted). */
export async function responseError(res: Response, op: string, path: string): Promise<RegistryError> {
  let codes: string[] = [];
  try {
    const body = JSON.parse(await readLimited(res, MAX_ERROR_BODY)) as { errors?: { code?: string }[] };
    codes = (body.errors ?? []).map((e) => String(e.code ?? '')).filter(Boolean);
  } catch {
    discard(res);
  }
  const status = res.statusCode;
  const kind: RegistryErrorKind =
    status === 401 ? 'auth' : status === 403 ? 'denied' : status === 404 ? 'not-found' : 'http';
  const hint =
    kind === 'auth'
      ? 'the registry refused the credentials (or needs some); check the auth file or credential helper'
      : kind === 'denied'
        ? 'the credentials do not grant this action on this repository'
        : kind === 'not-found'
          ? 'check the repository name, tag and digest'
          : undefined;
  return new RegistryError({ kind, op, path, status, codes, hint });
}

type AgentClass = typeof import('undici').Agent;
let agentClass: Promise<AgentClass> | undefined;

/**
 * undici's Agent and its request API, loaded on the first request rather than with the
 * package, and without the rest of undici (fetch, WebSocket, caches, mocks, proxies):
 * the whole package costs ~0.37 s of CPU to load on the benchmark machine, these three
 * modules ~0.15 s, and commands that never reach a registry (unpack of a stored image,
 * run, images) load none of it (tools/bench). undici's index.js attaches the request
 * API to Dispatcher.prototype exactly this way; the paths are pinned by the lockfile
 * and every registry test goes through them. The specifiers are typed `string` so tsc
 * does not look for declarations of these untyped files.
 */
function loadAgent(): Promise<AgentClass> {
  agentClass ??= (async () => {
    const [agent, api, dispatcher] = await Promise.all([
      import('undici/lib/dispatcher/agent.js' as string),
      import('undici/lib/api/index.js' as string),
      import('undici/lib/dispatcher/dispatcher.js' as string),
    ]);
    Object.assign(dispatcher.default.prototype, api.default);
    return agent.default as AgentClass;
  })();
  return agentClass;
}

/**
 * HTTP to registries: one undici Agent per host (connection reuse, TLS from certs.d,
 * opt-in plain HTTP and unverified TLS), authentication from challenges, retries with
 * backoff, and redirects that never carry the Authorization header to another origin.
 */
export class Transport {
  readonly options: TransportOptions;
  readonly auth: Authenticator;
  readonly #agents = new Map<string, Agent>();
  readonly #tls = new Map<string, ConnectionOptions>();

  constructor(options: TransportOptions) {
    this.options = options;
    this.auth = new Authenticator(options.credentials, async (url, init) =>
      (await this.#agentFor(url.host)).request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: init.method,
        headers: { ...init.headers, 'user-agent': options.userAgent },
        ...(init.body !== undefined ? { body: init.body } : {}),
      }),
    );
  }

  /** The endpoints to try, in order: for pulls the configured mirrors first, then the registry. */
  endpoints(registry: string, apiHost: string, purpose: 'pull' | 'push'): Endpoint[] {
    const direct = this.#endpoint(registry, apiHost, false);
    if (purpose === 'push') return [direct];
    const mirrors = (this.options.mirrors[registry] ?? []).map((m) => {
      const scheme = /^https?:\/\//.exec(m)?.[0];
      const host = scheme ? m.slice(scheme.length).replace(/\/.*$/, '') : m;
      return scheme === 'http://'
        ? { registry, host, origin: `http://${host}`, mirror: true }
        : this.#endpoint(registry, host, true);
    });
    return [...mirrors, direct];
  }

  #endpoint(registry: string, host: string, mirror: boolean): Endpoint {
    const scheme =
      listed(this.options.plainHttp, host) || listed(this.options.plainHttp, registry) ? 'http' : 'https';
    return { registry, host, origin: `${scheme}://${host}`, mirror };
  }

  /** TLS settings for a host: certs.d CAs and client pair, verification unless opted out. */
  #tlsFor(host: string): ConnectionOptions {
    let tls = this.#tls.get(host);
    if (!tls) {
      const files = hostTls(this.options.certsDirs, host);
      tls = {
        ...(files.ca.length ? { ca: [...rootCertificates, ...files.ca] } : {}),
        ...(files.cert !== undefined ? { cert: files.cert, key: files.key } : {}),
        rejectUnauthorized: !listed(this.options.skipVerify, host),
      };
      this.#tls.set(host, tls);
    }
    return tls;
  }

  async #agentFor(host: string): Promise<Agent> {
    let agent = this.#agents.get(host);
    if (!agent) {
      const Agent = await loadAgent();
      // Another request to this host may have made one while undici loaded.
      agent = this.#agents.get(host);
      if (agent) return agent;
      agent = new Agent({
        connect: { ...this.#tlsFor(host), timeout: this.options.stallTimeoutMs },
        headersTimeout: this.options.stallTimeoutMs,
        bodyTimeout: this.options.stallTimeoutMs,
        keepAliveTimeout: 30_000,
      });
      this.#agents.set(host, agent);
    }
    return agent;
  }

  /**
   * One request on one URL: a bodiless GET goes through the direct reader (its body can
   * be drained without copies), and through undici when the response is not one the
   * direct reader takes; everything else goes through undici.
   */
  async #request(
    url: URL,
    method: SendRequest['method'],
    headers: Record<string, string>,
    body: Buffer | Readable | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    if (method === 'GET' && body === undefined) {
      try {
        return await directGet({
          url,
          headers,
          tls: this.#tlsFor(url.host),
          timeoutMs: this.options.stallTimeoutMs,
          signal,
        });
      } catch (err) {
        if (!(err instanceof NotDirect)) throw err;
      }
    }
    return (await this.#agentFor(url.host)).request({
      origin: url.origin,
      path: url.pathname + url.search,
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** Waits before retry `event.attempt` (backoff with jitter, or the server's Retry-After), telling onRetry first. */
  async backoff(
    event: Omit<RetryEvent, 'delayMs'>,
    retryAfter: number | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const { baseDelayMs, maxDelayMs } = this.options.retry;
    const exp = Math.min(baseDelayMs * 2 ** (event.attempt - 1), maxDelayMs);
    const delayMs = Math.round(retryAfter ?? exp / 2 + Math.random() * (exp / 2));
    this.options.onRetry?.({ ...event, delayMs });
    await sleep(delayMs, undefined, signal ? { signal } : undefined);
  }

  /**
   * Sends one request and returns the final response (any status). Answers a 401 once
   * (again if a cached token went stale), retries transient failures and 408/429/5xx,
   * follows redirects.
   */
  async send(ep: Endpoint, req: SendRequest): Promise<Response> {
    const { attempts } = this.options.retry;
    const replayable = !(req.body instanceof Readable);
    const idempotent =
      req.idempotent ??
      (req.method === 'GET' || req.method === 'HEAD' || (req.method === 'PUT' && Buffer.isBuffer(req.body)));
    let authorization = await this.auth.headerFor(ep.registry, ep.origin, req.scopes);
    let answered = false;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.#follow(ep, req, authorization);
      } catch (err) {
        if (!isTransient(err) || !idempotent || attempt >= attempts) throw this.#wrap(err, ep, req);
        await this.backoff({ what: describe(req), reason: errorCode(err), attempt }, undefined, req.signal);
        continue;
      }
      if (res.statusCode === 401 && !answered && replayable) {
        res.body.resume();
        if (authorization) this.auth.invalidate(ep.origin, req.scopes);
        answered = true;
        authorization = await this.auth.answer(
          ep.registry,
          ep.origin,
          req.scopes,
          parseChallenges(res.headers['www-authenticate']),
        );
        attempt--;
        continue;
      }
      if (RETRY_STATUSES.has(res.statusCode) && idempotent && attempt < attempts) {
        res.body.resume();
        await this.backoff(
          { what: describe(req), reason: `HTTP ${res.statusCode}`, attempt },
          retryAfterMs(res.headers['retry-after'], this.options.retry.maxDelayMs),
          req.signal,
        );
        continue;
      }
      return res;
    }
  }

  #wrap(err: unknown, ep: Endpoint, req: SendRequest): unknown {
    if (err instanceof RegistryError || isAbort(err)) return err;
    const code = (err as { code?: string }).code;
    const tlsHint = code?.startsWith('ERR_SSL')
      ? `the TLS handshake failed (${code}); if the registry speaks plain HTTP, opt in with --plain-http`
      : isTlsVerification(code)
        ? `TLS verification failed (${code}); put the registry's CA in certs.d/${ep.host}/ca.crt, or opt in with --skip-verify`
        : code === 'ECONNREFUSED'
          ? 'nothing listens there; check the host and port (and --plain-http for an HTTP registry)'
          : code
            ? `the connection failed (${code})`
            : undefined;
    return new RegistryError({
      kind: 'transport',
      op: `${req.method} ${ep.origin}`,
      path: pathOnly(req.target),
      hint: tlsHint,
      cause: err,
    });
  }

  async #follow(ep: Endpoint, req: SendRequest, authorization: string | undefined): Promise<Response> {
    let url = new URL(req.target, ep.origin);
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent, ...req.headers };
      // Blob storage behind a redirect authenticates with its signed URL; the registry's
      // credentials or token must not travel to it.
      if (authorization && url.origin === origin) headers.authorization = authorization;
      const body = typeof req.body === 'function' ? req.body() : req.body;
      const res = await this.#request(url, req.method, headers, hop === 0 ? body : undefined, req.signal);
      const location = header(res, 'location');
      const redirect = [301, 302, 303, 307, 308].includes(res.statusCode) && location !== undefined;
      if (!redirect || (req.method !== 'GET' && req.method !== 'HEAD')) return res;
      res.body.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError({
          kind: 'transport',
          op: `${req.method} ${ep.origin}`,
          path: pathOnly(req.target),
          hint: 'too many redirects',
        });
      }
      const next = new URL(location, url);
      if (url.protocol === 'https:' && next.protocol !== 'https:') {
        throw new RegistryError({
          kind: 'transport',
          op: `follow a redirect from ${url.origin}`,
          hint: 'the registry redirects from HTTPS to plain HTTP; refusing',
        });
      }
      url = next;
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((a) => a.close()));
    this.#agents.clear();
  }
}

function describe(req: SendRequest): string {
  return `${req.method} ${pathOnly(req.target.replace(/^https?:\/\/[^/]+/, ''))}`;
}

/** The error code of a failure (ECONNRESET, UND_ERR_SOCKET ...), or its name. */
export function errorCode(err: unknown): string {
  return (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'error');
}

/** A URL's path without its query string (which may hold signed credentials). */
export function pathOnly(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}
