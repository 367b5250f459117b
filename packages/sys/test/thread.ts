import { Worker } from 'node:worker_threads';

export interface ThreadError {
  name?: string;
  message: string;
  code?: string;
  syscall?: string;
}

/**
 * Runs `code` (an async function body with `sys`, `childProcess` and `fs` in scope) on a
 * sacrificial worker thread and returns what it returns, or the error it threw.
 */
export function onThread<T = unknown>(
  code: string,
): Promise<{ ok: true; value: T } | { ok: false; error: ThreadError }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./fixtures/on-thread.ts', import.meta.url), { workerData: { code } });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}
