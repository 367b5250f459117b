// The body of a layer thread (layer-threads.ts): applies one layer at a time to a
// directory, reading the layer's bytes from messages of the thread that owns the
// stream. The same applyLayer runs here as on the main thread; only the bytes arrive
// differently, so every rule of apply-layer.ts holds unchanged.
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { CtrError, type CtrErrorInit } from '@ctr/sys';
import { applyLayer } from './apply-layer.ts';
import type { FromThread, ToThread } from './layer-threads.ts';

const port = parentPort!;
const post = (m: FromThread): void => port.postMessage(m);
let source: Readable | undefined;

port.on('message', (m: ToThread) => {
  switch (m.type) {
    case 'apply': {
      // Each read() asks for one more chunk: at most a few chunks are ever in flight.
      const src = new Readable({ read: () => post({ type: 'credit' }) });
      source = src;
      applyLayer(m.root, src, m.opts)
        .then(
          (result) => post({ type: 'done', result }),
          (e: unknown) => post({ type: 'failed', error: serialize(e) }),
        )
        .finally(() => {
          // Chunks still in flight for a layer that failed early are dropped.
          if (source === src) source = undefined;
        });
      break;
    }
    case 'chunk':
      source?.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      break;
    case 'end':
      source?.push(null);
      source = undefined;
      break;
    case 'abort':
      source?.destroy(new Error(m.reason));
      source = undefined;
      break;
  }
});

function serialize(e: unknown): { message: string; ctr?: CtrErrorInit } {
  if (e instanceof CtrError) {
    return {
      message: e.message,
      ctr: { stage: e.stage, op: e.op, path: e.path, errno: e.errno, hint: e.hint },
    };
  }
  return { message: e instanceof Error ? e.message : String(e) };
}
// The owner ends this thread only once its modules are in (LayerThread.#loaded).
post({ type: 'loaded' });
