// The Worker that the fast launcher sacrifices, started as early as a command can
// know it will want one. A Worker's start (a fresh V8 isolate, Node's bootstrap, the
// thread's modules) is the largest single cost of a foreground `ctr run`; the CLI's
// entry point starts it before it loads the rest of ctr, so the two overlap on a
// machine's second core. This module is its own package entry
// (@ctr/runtime/launching-worker) and imports nothing of ctr but the cgroup warm-up
// (@ctr/cgroups/warm): the point is to run before the rest is loaded.

import { Worker } from 'node:worker_threads';
import { warmCgroupMigration } from '@ctr/cgroups/warm';
import { compileCacheEnv } from '../compile-cache.ts';
import type { LaunchMessage } from './protocol.ts';

const fromSources = import.meta.url.endsWith('.ts');
const threadUrl = new URL(fromSources ? './thread.ts' : './thread.js', import.meta.url);

/**
 * A launching Worker and whether its modules are in: ending a Worker while it
 * registers a native addon aborts the whole process (koffi's registration meets the
 * terminating isolate, and Node makes that fatal), and so does a process exit, which
 * ends its Workers. `loaded` settles once the thread says its modules are in or it
 * has ended; never rejects.
 */
interface LaunchingWorker {
  worker: Worker;
  loaded: Promise<void>;
  ended: boolean;
}

let prestarted: LaunchingWorker | undefined;
const started = new WeakMap<Worker, LaunchingWorker>();

function startWorker(): LaunchingWorker {
  const worker = new Worker(threadUrl, {
    ...(fromSources ? { execArgv: ['--conditions=source'] } : {}),
    // A Worker does not share the compile cache its process enabled; its environment does.
    env: { ...process.env, ...compileCacheEnv() },
    // Not piped into ctr's own stdout and stderr: piping makes Node set up those
    // streams in ctr (and load its net and stream modules) and the Worker's side of
    // them, ~2 ms of each thread's start. The thread writes nothing there: it reports
    // over messages, and an uncaught error is the Worker's 'error' event.
    stdout: true,
    stderr: true,
  });
  const entry: LaunchingWorker = {
    worker,
    ended: false,
    loaded: new Promise<void>((resolve) => {
      const onMessage = (m: LaunchMessage) => {
        if (m.type === 'loaded') done();
      };
      const onEnd = () => {
        entry.ended = true;
        done();
      };
      // Until it is taken nobody else listens: an error would otherwise be thrown as an
      // unhandled 'error' event, and an exit would go unseen by the taker.
      worker.on('message', onMessage).once('error', onEnd).once('exit', onEnd);
      function done() {
        worker.off('message', onMessage);
        resolve();
      }
    }),
  };
  started.set(worker, entry);
  return entry;
}

/**
 * Starts the launching Worker now, for a later takeLaunchingWorker. It is unref'd until
 * taken: a command that ends up not using it still exits, once
 * discardPrestartedWorker has let it finish loading. Also starts a cgroup migration
 * warm-up: the run's first cgroup move would otherwise wait out an RCU grace period
 * on its critical path; this one waits while the rest of ctr loads.
 */
export function prestartLaunchingWorker(): void {
  if (prestarted !== undefined) return;
  prestarted = startWorker();
  prestarted.worker.unref();
  // After the Worker: its start runs on its own thread meanwhile.
  void warmCgroupMigration();
}

/**
 * The prestarted Worker, or a new one when there is none or it already ended (a new
 * one then reports why it cannot start to the taker's own listeners).
 */
export function takeLaunchingWorker(): Worker {
  const entry = prestarted;
  prestarted = undefined;
  if (entry === undefined || entry.ended) return startWorker().worker;
  entry.worker.ref();
  return entry.worker;
}

/**
 * Ends a launching Worker that was given no work, once its modules are in (see
 * LaunchingWorker); kept referenced until then, so the process waits for it.
 */
export async function endLaunchingWorker(worker: Worker): Promise<void> {
  const entry = started.get(worker);
  worker.ref();
  await entry?.loaded;
  await worker.terminate();
}

/**
 * Ends a prestarted Worker nobody took (the command will not launch through it, or
 * it is over); the CLI's entry point calls it before it returns.
 */
export async function discardPrestartedWorker(): Promise<void> {
  const entry = prestarted;
  prestarted = undefined;
  if (entry !== undefined) await endLaunchingWorker(entry.worker);
}
