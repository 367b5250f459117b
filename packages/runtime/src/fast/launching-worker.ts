// The Worker that the fast launcher sacrifices, started as early as a command can
// know it will want one. A Worker's start (a fresh V8 isolate, Node's bootstrap, the
// thread's modules) is the largest single cost of a foreground `ctr run`; the CLI's
// entry point starts it before it loads the rest of ctr, so the two overlap on a
// machine's second core. This module is its own package entry
// (@ctr/runtime/launching-worker) and imports nothing of ctr: the point is to run
// before the rest is loaded.

import { getCompileCacheDir } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';

const fromSources = import.meta.url.endsWith('.ts');
const threadUrl = new URL(fromSources ? './thread.ts' : './thread.js', import.meta.url);

let prestarted: { worker: Worker; ended: boolean } | undefined;

function startWorker(): Worker {
  // A Worker does not share the compile cache its process enabled; its environment
  // does. getCompileCacheDir() names the per-Node-version subdirectory that Node
  // adds below the directory it was given; give the Worker that same parent.
  const cache = getCompileCacheDir();
  return new Worker(threadUrl, {
    ...(fromSources ? { execArgv: ['--conditions=source'] } : {}),
    ...(cache ? { env: { ...process.env, NODE_COMPILE_CACHE: dirname(cache) } } : {}),
  });
}

/**
 * Starts the launching Worker now, for a later takeLaunchingWorker. It is unref'd until
 * taken: a command that ends up not using it (the config needs the init launcher, or
 * the run failed early) still exits.
 */
export function prestartLaunchingWorker(): void {
  if (prestarted !== undefined) return;
  const entry = { worker: startWorker(), ended: false };
  entry.worker.unref();
  // Until it is taken nobody else listens: an error would otherwise be thrown as an
  // unhandled 'error' event, and an exit would go unseen by the taker.
  const ended = () => {
    entry.ended = true;
  };
  entry.worker.once('error', ended).once('exit', ended);
  prestarted = entry;
}

/**
 * The prestarted Worker, or a new one when there is none or it already ended (a new
 * one then reports why it cannot start to the taker's own listeners).
 */
export function takeLaunchingWorker(): Worker {
  const entry = prestarted;
  prestarted = undefined;
  if (entry === undefined || entry.ended) return startWorker();
  entry.worker.ref();
  return entry.worker;
}

/** Ends a prestarted Worker nobody took: the command will not launch through it. */
export function discardPrestartedWorker(): void {
  void prestarted?.worker.terminate();
  prestarted = undefined;
}
