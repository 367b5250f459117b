import { existsSync } from 'node:fs';
import { isSameProcessAlive } from './proc.ts';
import type { ContainerRecord, ContainerStatus, ContainerStore, OciState } from './store.ts';

/**
 * The status of a container now: the stored one is only what the last command saw,
 * the init may have exited since. As in runc, a live init with its exec fifo still in
 * place is `created`, without it `running`.
 */
export function currentStatus(store: ContainerStore, record: ContainerRecord): ContainerStatus {
  const alive =
    record.pid !== undefined &&
    record.initStartTime !== undefined &&
    isSameProcessAlive(record.pid, record.initStartTime);
  if (record.status === 'creating') return alive || record.pid === undefined ? 'creating' : 'stopped';
  if (!alive) return 'stopped';
  if (record.paused) return 'paused';
  return existsSync(store.execFifo(record.id)) ? 'created' : 'running';
}

/** The runtime-spec state of a container (what hooks get on stdin and `state` prints). */
export function ociState(record: ContainerRecord, status: ContainerStatus): OciState {
  const state: OciState = { ociVersion: record.ociVersion, id: record.id, status, bundle: record.bundle };
  if (status !== 'stopped' && record.pid !== undefined) state.pid = record.pid;
  if (record.annotations) state.annotations = record.annotations;
  return state;
}
