// Layers on worker threads. Applying a layer is CPU-bound on the thread that runs it:
// tar parsing, the diff_id hash and one synchronous syscall after another per entry
// (measured: 2.5 s user + 3 s sys for 11k entries of a 100 MB image, nearly all on the
// main thread). Overlay snapshots are independent directories, so a thread per
// snapshot lets the layers use every core. The stream stays on the calling thread
// (a Readable cannot move between threads); its chunks are copied over with a small
// credit window, so memory stays bounded however fast the source is.
import { ReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { CtrError, type CtrErrorInit } from '@ctr/sys';
import { type ApplyLayerOptions, type ApplyLayerResult, applyLayer } from './apply-layer.ts';
import { unpackError } from './errors.ts';

/** Messages to layer-worker.ts. */
export type ToThread =
  | { type: 'apply'; root: string; opts: ApplyLayerOptions }
  | { type: 'chunk'; data: Uint8Array }
  | { type: 'end' }
  | { type: 'abort'; reason: string };

/** Messages from layer-worker.ts. */
export type FromThread =
  | { type: 'loaded' }
  | { type: 'credit' }
  | { type: 'done'; result: ApplyLayerResult }
  | { type: 'failed'; error: { message: string; ctr?: CtrErrorInit | undefined } };

// From src (Node strips the types) the worker is layer-worker.ts and resolves sibling
// packages to their sources; from dist it is layer-worker.js.
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './layer-worker.ts' : './layer-worker.js', import.meta.url);

// Chunks sent before the thread asks, so its decompressor does not wait on a round trip.
const PREFETCH = 2;

/**
 * The chunk's bytes in an ArrayBuffer that can be handed over. A file stream
 * allocates a fresh ArrayBuffer for every read and never looks at it again, so its
 * chunks move as they are; any other stream's chunks are copied, since the caller may
 * still hold them (Readable.from([buffer])) or they may share memory with other data.
 */
function ownBytes(chunk: Buffer, fresh: boolean): Uint8Array<ArrayBuffer> {
  const whole = chunk.buffer;
  if (
    fresh &&
    whole instanceof ArrayBuffer &&
    chunk.byteOffset === 0 &&
    chunk.byteLength === whole.byteLength
  ) {
    return new Uint8Array(whole);
  }
  // set() copies in bulk; new Uint8Array(buffer) would go element by element.
  const copy = new Uint8Array(chunk.length);
  copy.set(chunk);
  return copy;
}

/** Applies a layer on some thread; settles only once every fd of the layer is closed. */
export type LayerApplier = (
  root: string,
  stream: Readable,
  opts: ApplyLayerOptions,
  signal?: AbortSignal,
) => Promise<ApplyLayerResult>;

/**
 * applyLayer on the calling thread, stopped at its next chunk when `signal` aborts:
 * the lane that needs no thread start (a worker costs ~0.25 s of CPU to boot and load
 * @ctr/sys here, about what a small layer costs to apply).
 */
export async function applyHere(
  root: string,
  stream: Readable,
  opts: ApplyLayerOptions,
  signal?: AbortSignal,
): Promise<ApplyLayerResult> {
  const onAbort = (): void => {
    stream.destroy(new Error('another layer failed'));
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await applyLayer(root, stream, opts);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A worker thread that applies one layer at a time with applyLayer. */
export class LayerThread {
  readonly #worker: Worker;
  /**
   * Settles once the thread's modules are in, or it ended. Ending a Worker while it
   * registers a native addon (koffi, through @ctr/sys) aborts the whole process, and
   * a thread can be closed before it got any layer (another lane failed first).
   */
  readonly #loaded: Promise<void>;

  constructor() {
    // stdout and stderr not piped into ours: the thread writes nothing there (it
    // reports over messages), and piping costs ~2 ms of each thread's start.
    const worker = new Worker(workerUrl, {
      ...(fromSource ? { execArgv: ['--conditions=source'] } : {}),
      stdout: true,
      stderr: true,
    });
    this.#worker = worker;
    this.#loaded = new Promise<void>((resolve) => {
      const onMessage = (m: FromThread): void => {
        if (m.type === 'loaded') settle();
      };
      const settle = (): void => {
        worker.off('message', onMessage).off('error', settle).off('exit', settle);
        resolve();
      };
      worker.on('message', onMessage).on('error', settle).on('exit', settle);
    });
  }

  /**
   * applyLayer(root, stream, opts) on this thread. An abort of `signal` stops the
   * layer at its next chunk; the promise settles only once the thread has closed
   * every fd of the layer, so the caller may then remove the directory.
   */
  apply(
    root: string,
    stream: Readable,
    opts: ApplyLayerOptions,
    signal?: AbortSignal,
  ): Promise<ApplyLayerResult> {
    const worker = this.#worker;
    return new Promise<ApplyLayerResult>((resolve, reject) => {
      let credits = PREFETCH;
      let settled = false;
      let wake: (() => void) | undefined;
      const onAbort = (): void => worker.postMessage({ type: 'abort', reason: 'another layer failed' });
      const finish = (err: Error | undefined, result?: ApplyLayerResult): void => {
        if (settled) return;
        settled = true;
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
        stream.destroy();
        wake?.();
        if (err) reject(err);
        else resolve(result!);
      };
      const onMessage = (m: FromThread): void => {
        if (m.type === 'loaded') return;
        if (m.type === 'credit') {
          credits++;
          wake?.();
        } else if (m.type === 'done') finish(undefined, m.result);
        else
          finish(m.error.ctr ? new CtrError(m.error.ctr) : unpackError('apply layer', root, m.error.message));
      };
      const onError = (e: Error): void =>
        finish(unpackError('apply layer', root, `the layer thread failed: ${e.message}`, e));
      const onExit = (code: number): void =>
        finish(
          unpackError(
            'apply layer',
            root,
            `the layer thread exited (code ${code}) before the layer was done`,
          ),
        );
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({ type: 'apply', root, opts } satisfies ToThread);

      const fresh = stream instanceof ReadStream;
      const pump = async (): Promise<void> => {
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            while (credits === 0 && !settled) await new Promise<void>((r) => (wake = r));
            if (settled) return;
            credits--;
            const data = ownBytes(chunk, fresh);
            worker.postMessage({ type: 'chunk', data } satisfies ToThread, [data.buffer]);
          }
          if (!settled) worker.postMessage({ type: 'end' } satisfies ToThread);
        } catch (e) {
          if (!settled)
            worker.postMessage({ type: 'abort', reason: (e as Error).message } satisfies ToThread);
        }
      };
      void pump();
    });
  }

  /** Ends the thread; call once no apply is pending. */
  async close(): Promise<void> {
    await this.#loaded;
    await this.#worker.terminate();
  }
}
