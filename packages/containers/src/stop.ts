import { setTimeout as sleep } from 'node:timers/promises';
import { kill, state } from '@ctr/runtime';
import type { ContainerMeta } from './records.ts';

export interface StopOptions {
  runtimeRoot?: string | undefined;
  /** How long the program has to exit after its StopSignal (default 10 s, as docker). */
  timeoutMs?: number | undefined;
}

const isStopped = (id: string, root: string | undefined): boolean => {
  try {
    return state({ id, ...(root ? { root } : {}) }).status === 'stopped';
  } catch {
    return true;
  }
};

/** Sends the image's StopSignal (SIGTERM when it has none), then SIGKILL after the timeout. */
export async function stopContainer(meta: ContainerMeta, opts: StopOptions = {}): Promise<void> {
  const root = opts.runtimeRoot;
  if (isStopped(meta.id, root)) return;
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  await kill({ id: meta.id, signal: meta.stopSignal ?? 'SIGTERM', ...(root ? { root } : {}) });
  while (Date.now() < deadline) {
    if (isStopped(meta.id, root)) return;
    await sleep(50);
  }
  if (!isStopped(meta.id, root))
    await kill({ id: meta.id, signal: 'SIGKILL', all: true, ...(root ? { root } : {}) });
  while (!isStopped(meta.id, root)) await sleep(20);
}
