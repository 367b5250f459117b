// GET requests on a connection of their own, with the body read into one reused buffer.
// Node's default socket reads allocate a fresh 64 KiB buffer per read; for a 100 MB
// pull that is 1,600 buffers the kernel has to fault in and zero and V8 has to collect,
// and undici adds its own copy into the llhttp WebAssembly memory on top. Measured on
// the benchmark image (tools/bench pull): default reads cost twice the CPU time of
// reads through `onread` into one 1 MiB buffer. No HTTP client exposes `onread`, so
// this module writes the request and parses the response head itself, and only for the
// plain responses: HTTP/1.x bodies delimited by Content-Length, chunked coding or the
// connection closing. Anything else (1xx, another transfer coding, an odd header line,
// an oversized head) raises NotDirect before a byte of body is handed out, and the
// transport sends the request again through undici.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

const READ_BUFFER_BYTES = 1 << 20;
const MAX_HEAD_BYTES = 64 * 1024;
const STATUS_LINE = /^HTTP\/1\.[01] ([2-5]\d\d)(?: [^\r\n]*)?$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values may not carry CR, LF or NUL (RFC 9110 §5.5): a token or header with
// them would inject headers into the request.
const FIELD_VALUE = /^[^\r\n\0]*$/;

/** The response is not one this reader handles; send the request through undici instead. */
export class NotDirect extends Error {
  override readonly name = 'NotDirect';
}

export interface DirectRequest {
  url: URL;
  headers: Record<string, string>;
  /** TLS settings for https URLs (CAs, client certificate, verification). */
  tls: ConnectionOptions;
  /** A connection that sends nothing for this long is dropped (a transient failure). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface DirectResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: DirectBody;
}

/** Receives body bytes; the chunk is only valid during the call (its buffer is reused). */
export type ChunkSink = (chunk: Buffer) => void | Promise<void>;

function failure(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

/** How the body's end is found: a byte count, chunked coding, or the connection closing. */
export type Framing = { length: number } | { chunked: true } | { untilClose: true };

const MAX_CHUNK_LINE = 4096;
const CHUNK_SIZE = /^([0-9a-fA-F]{1,12})(?:[ \t]*;[^\r\n]*)?$/;

/**
 * A response body: a Readable for ordinary consumers (error bodies, manifests), or,
 * through `drainInto`, a synchronous hand-over of each chunk straight from the
 * socket's read buffer without a copy.
 */
export class DirectBody extends Readable {
  readonly #socket: Socket;
  readonly #framing: Framing;
  #complete = false;
  #received = 0;
  // Chunked coding: what the decoder expects next, and the bytes left in this chunk.
  #state: 'size' | 'data' | 'data-end' | 'trailer' = 'size';
  #line = '';
  #left = 0;
  #trailerBytes = 0;
  #sink: ChunkSink | undefined;
  #holds = 0;
  #draining = false;
  #room: (() => void) | undefined;
  #settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  #failed: unknown;

  constructor(socket: Socket, framing: Framing) {
    super({ highWaterMark: 64 * 1024 });
    this.#socket = socket;
    this.#framing = framing;
    // A failure can come before the caller attaches a reader (the head and a broken
    // body in one packet); readers still see it as the stream's error, and without a
    // listener here it would be thrown as an uncaught 'error' event.
    this.on('error', () => {});
  }

  get complete(): boolean {
    return this.#complete;
  }

  /**
   * Hands every remaining byte to `sink` as it arrives, straight from the read buffer;
   * resolves once the whole body has been handed over. A sink that returns a promise
   * pauses the connection until it settles; a sink that throws ends the request.
   */
  drainInto(sink: ChunkSink): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#failed !== undefined) {
        reject(this.#failed);
        return;
      }
      // Bytes already pushed to the Readable go first, in order: nothing new is read,
      // and a push that is waiting for room does not continue, until they are through.
      this.#hold();
      this.#draining = true;
      const pending: Buffer[] = [];
      for (let c = this.read() as Buffer | null; c !== null; c = this.read() as Buffer | null)
        pending.push(c);
      this.#settle = { resolve, reject };
      this.#sink = sink;
      const feed = async (): Promise<void> => {
        for (const c of pending) await sink(c);
      };
      feed().then(
        () => {
          this.#draining = false;
          this.#wakeRoom();
          this.#unhold();
        },
        (e: unknown) => this.fail(e),
      );
    });
  }

  /** Takes bytes from the socket; returns false to pause it until they are consumed. */
  accept(data: Buffer): boolean {
    const out = this.#decode(data);
    if (out === true) return true;
    this.#hold();
    out.then(
      () => this.#unhold(),
      (e: unknown) => this.fail(e),
    );
    return false;
  }

  // The read buffer is reused by the next socket read, so the socket stays paused while
  // anyone still works on bytes in it (a sink's promise, a push waiting for room).
  #hold(): void {
    if (this.#holds++ === 0) this.#socket.pause();
  }

  #unhold(): void {
    if (--this.#holds > 0) return;
    if (this.#complete) this.#done();
    else if (this.#failed === undefined) this.#socket.resume();
  }

  #wakeRoom(): void {
    const wake = this.#room;
    this.#room = undefined;
    wake?.();
  }

  /** Decodes the framing and emits body bytes; a promise when a consumer asked to wait. */
  #decode(data: Buffer): true | Promise<void> {
    let at = 0;
    if ('length' in this.#framing && this.#framing.length === 0 && !this.#complete) {
      this.#finish();
      this.#done();
    }
    while (at < data.byteLength && !this.#complete) {
      const f = this.#framing;
      if ('length' in f || 'untilClose' in f) {
        const room = 'length' in f ? f.length - this.#received : data.byteLength - at;
        const part = data.subarray(at, at + Math.min(room, data.byteLength - at));
        at += part.byteLength;
        this.#received += part.byteLength;
        if ('length' in f && this.#received === f.length) this.#finish();
        const wait = this.#emit(part);
        if (wait) return wait.then(() => this.#rest(data, at));
        continue;
      }
      if (this.#state === 'data') {
        const part = data.subarray(at, at + Math.min(this.#left, data.byteLength - at));
        at += part.byteLength;
        this.#left -= part.byteLength;
        if (this.#left === 0) this.#state = 'data-end';
        const wait = this.#emit(part);
        if (wait) return wait.then(() => this.#rest(data, at));
        continue;
      }
      // Line-oriented parts of the chunked coding: sizes, the CRLF after data, trailers.
      const nl = data.indexOf(0x0a, at);
      const end = nl === -1 ? data.byteLength : nl + 1;
      this.#line += data.toString('latin1', at, end);
      at = end;
      if (this.#line.length > MAX_CHUNK_LINE) throw protocolError('a chunk header line is too long');
      if (nl === -1) break;
      const line = this.#line.replace(/\r?\n$/, '');
      this.#line = '';
      if (this.#state === 'data-end') {
        if (line !== '') throw protocolError('chunk data is longer than its size');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const m = CHUNK_SIZE.exec(line);
        if (!m) throw protocolError('a chunk size is malformed');
        this.#left = Number.parseInt(m[1]!, 16);
        this.#state = this.#left === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.#finish();
        this.#done();
      } else {
        // Trailer fields are ignored, but a server must not send them without end.
        this.#trailerBytes += line.length;
        if (this.#trailerBytes > MAX_HEAD_BYTES) throw protocolError('the trailer section is too large');
      }
    }
    return true;
  }

  #rest(data: Buffer, at: number): Promise<void> | undefined {
    const more = this.#decode(data.subarray(at));
    return more === true ? undefined : more;
  }

  #emit(part: Buffer): Promise<void> | undefined {
    if (part.byteLength > 0) {
      const sink = this.#sink;
      if (!sink) {
        if (!this.push(Buffer.from(part)) && !this.#complete) {
          return new Promise<void>((resolve) => {
            this.#room = resolve;
          });
        }
      } else {
        const out = sink(part);
        if (out instanceof Promise) return out.then(() => this.#done());
      }
    }
    this.#done();
    return undefined;
  }

  #finish(): void {
    this.#complete = true;
    this.#socket.destroy();
  }

  #done(): void {
    if (!this.#complete || this.#holds > 0) return;
    if (this.#sink) this.#settle?.resolve();
    else this.push(null);
  }

  /** The connection ended or failed: an error unless the whole body had arrived. */
  connectionEnded(err: unknown): void {
    if (!this.#complete && err === undefined && 'untilClose' in this.#framing) {
      this.#complete = true;
      this.#done();
    }
    if (this.#complete) return;
    this.fail(err ?? failure('the connection closed before the body ended', 'UND_ERR_SOCKET'));
  }

  /** Ends the request with `err` (a consumer's or the decoder's failure). */
  fail(err: unknown): void {
    if (this.#failed !== undefined) return;
    this.#failed = err;
    this.#socket.destroy();
    if (this.#settle) this.#settle.reject(err);
    else this.destroy(err as Error);
  }

  override _read(): void {
    if (!this.#draining && !this.#sink) this.#wakeRoom();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#socket.destroy();
    cb(err);
  }
}

function protocolError(message: string): Error {
  return failure(`invalid HTTP response: ${message}`, 'HPE_INVALID_CHUNK_SIZE');
}

/** Parses a response head; undefined when it is not one this reader takes. */
function parseHead(
  head: string,
): { statusCode: number; headers: Record<string, string | string[]> } | undefined {
  const lines = head.split('\r\n');
  const status = STATUS_LINE.exec(lines[0] ?? '');
  if (!status) return undefined;
  const headers: Record<string, string | string[]> = {};
  for (const line of lines.slice(1)) {
    const m = HEADER_LINE.exec(line);
    if (!m) return undefined;
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    const prev = headers[name];
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { statusCode: Number(status[1]), headers };
}

/** How the body of a response is delimited, or undefined for framing left to undici. */
function framingOf(statusCode: number, headers: Record<string, string | string[]>): Framing | undefined {
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    // Only plain chunked coding, never together with Content-Length (RFC 9112 §6.3).
    const chunked = typeof te === 'string' && te.toLowerCase() === 'chunked' && cl === undefined;
    return chunked ? { chunked: true } : undefined;
  }
  if (statusCode === 204 || statusCode === 304) return { length: 0 };
  if (cl === undefined) return { untilClose: true };
  const values = Array.isArray(cl) ? cl : [cl];
  // Differing Content-Length values are a smuggling signature (RFC 9112 §6.3).
  if (values.some((v) => v !== values[0] || !/^\d{1,15}$/.test(v))) return undefined;
  return { length: Number(values[0]) };
}

/** Sends one GET and resolves with its status and headers once the head has arrived. */
export function directGet(req: DirectRequest): Promise<DirectResponse> {
  const { url } = req;
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(req.headers)) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return Promise.reject(new NotDirect('header'));
    lines.push(`${name}: ${value}`);
  }
  lines.push('connection: close', '', '');
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port) || (https ? 443 : 80);

  return new Promise<DirectResponse>((resolve, reject) => {
    if (req.signal?.aborted) {
      reject(abortError());
      return;
    }
    let head: Buffer | undefined = Buffer.alloc(0);
    let body: DirectBody | undefined;
    const onread = {
      buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
      callback: (n: number, buf: Uint8Array): boolean => {
        const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
        if (body) {
          try {
            return body.accept(chunk);
          } catch (e) {
            body.fail(e);
            return false;
          }
        }
        head = Buffer.concat([head ?? Buffer.alloc(0), chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) {
          if (head.byteLength > MAX_HEAD_BYTES) fail(new NotDirect('head too large'));
          return true;
        }
        const parsed = parseHead(head.subarray(0, end).toString('latin1'));
        const framing = parsed && framingOf(parsed.statusCode, parsed.headers);
        if (!parsed || framing === undefined) {
          fail(new NotDirect('framing'));
          return false;
        }
        const rest = head.subarray(end + 4);
        head = undefined;
        body = new DirectBody(socket, framing);
        resolve({ ...parsed, body });
        try {
          return body.accept(rest);
        } catch (e) {
          body.fail(e);
          return false;
        }
      },
    };
    const options = { host, port, onread };
    const socket: Socket = https
      ? tlsConnect({ ...req.tls, ...options, ...(isIP(host) ? {} : { servername: host }) })
      : netConnect(options);
    const fail = (err: unknown): void => {
      socket.destroy();
      if (body) body.connectionEnded(err);
      else reject(err);
    };
    const onAbort = (): void => fail(abortError());
    req.signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(req.timeoutMs, () =>
      fail(
        failure(`no data for ${req.timeoutMs} ms`, body ? 'UND_ERR_BODY_TIMEOUT' : 'UND_ERR_HEADERS_TIMEOUT'),
      ),
    );
    socket.on('error', fail);
    socket.on('close', () => {
      req.signal?.removeEventListener('abort', onAbort);
      if (body) body.connectionEnded(undefined);
      else reject(failure('the connection closed before a response arrived', 'UND_ERR_SOCKET'));
    });
    // After the handshake: a request written earlier turns a failed handshake into a
    // bare EPROTO write error instead of OpenSSL's code (ERR_SSL_WRONG_VERSION_NUMBER
    // for a plain-HTTP server), which the transport turns into a --plain-http hint.
    socket.once(https ? 'secureConnect' : 'connect', () => socket.write(lines.join('\r\n')));
  });
}
