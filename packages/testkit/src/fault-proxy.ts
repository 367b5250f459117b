import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does to one matching request. */
export type Fault =
  /** Forward the headers and `afterBytes` of the body, then cut the connection. */
  | { kind: 'drop'; afterBytes: number }
  /** Answer this status instead of forwarding (with Retry-After seconds for 429/503). */
  | { kind: 'status'; status: number; retryAfter?: number }
  /** Forward everything but flip the bits of the body byte at `atByte`. */
  | { kind: 'corrupt'; atByte: number }
  /** Forward `afterBytes` of the body, then send nothing more and keep the connection open. */
  | { kind: 'stall'; afterBytes: number }
  /** Remove the Range header, as a server that does not support ranges would ignore it. */
  | { kind: 'ignore-range' }
  /** Answer with exactly this, as a hostile or broken registry would. */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string | Buffer };

export interface FaultRule {
  method?: string;
  /** Matched against the request path (and query). */
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

/** One request as it passed the proxy. */
export interface ProxiedRequest {
  method: string;
  url: string;
  range: string | undefined;
  authorization: boolean;
  fault: Fault['kind'] | undefined;
  status: number | undefined;
}

export interface FaultProxy {
  url: string;
  host: string;
  requests: ProxiedRequest[];
  /** Adds a rule; rules are tried in the order added, each until its `times` are used. */
  inject(rule: FaultRule): void;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a plain-HTTP server (a test registry) that
 * injects faults into chosen requests. The Host header is passed through, so upload
 * Locations the registry builds point back at the proxy.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: (FaultRule & { left: number })[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const rule = rules.find(
      (r) => r.left > 0 && r.path.test(req.url ?? '') && (r.method === undefined || r.method === req.method),
    );
    if (rule) rule.left--;
    const fault = rule?.fault;
    const entry: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      range: req.headers.range,
      authorization: req.headers.authorization !== undefined,
      fault: fault?.kind,
      status: undefined,
    };
    requests.push(entry);
    if (fault?.kind === 'status') {
      req.resume();
      entry.status = fault.status;
      res.writeHead(fault.status, {
        'content-type': 'application/json',
        ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}),
      });
      res.end(JSON.stringify({ errors: [{ code: 'INJECTED', message: `injected ${fault.status}` }] }));
      return;
    }
    if (fault?.kind === 'respond') {
      req.resume();
      entry.status = fault.status;
      res.writeHead(fault.status, fault.headers ?? {});
      res.end(fault.body ?? '');
      return;
    }
    const headers = { ...req.headers };
    if (fault?.kind === 'ignore-range') delete headers.range;
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (up) => {
        entry.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, up.headers);
        let sent = 0;
        let cut = false;
        up.on('data', (chunk: Buffer) => {
          if (cut) return;
          let data = chunk;
          if (fault?.kind === 'corrupt' && fault.atByte >= sent && fault.atByte < sent + data.byteLength) {
            data = Buffer.from(data);
            const i = fault.atByte - sent;
            data[i] = (data[i] ?? 0) ^ 0xff;
          }
          if (
            (fault?.kind === 'drop' || fault?.kind === 'stall') &&
            sent + data.byteLength >= fault.afterBytes
          ) {
            cut = true;
            const part = data.subarray(0, fault.afterBytes - sent);
            sent += part.byteLength;
            up.destroy();
            res.write(part, () => {
              if (fault.kind === 'drop') res.socket?.destroy();
            });
            return;
          }
          sent += data.byteLength;
          res.write(data);
        });
        up.on('end', () => {
          if (!cut) res.end();
        });
      },
    );
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    inject: (rule) => rules.push({ ...rule, left: rule.times ?? 1 }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
