import { CtrError } from '@ctr/sys';
import { runHooks } from '../hooks.ts';
import { lockContainer } from '../lock.ts';
import { currentStatus, ociState } from '../status.ts';
import { ContainerStore } from '../store.ts';
import { destroy } from './destroy.ts';

export interface DeleteOptions {
  root?: string;
  id: string;
  /** Kill a running container first; succeed when it does not exist. */
  force?: boolean;
  /** Called for each poststop hook failure: the spec makes them warnings. */
  warn?: (message: string) => void;
}

/**
 * OCI `delete`: removes a stopped (or created) container, and with `force` a running
 * one, its processes, cgroup and state; then runs the poststop hooks.
 */
export async function deleteContainer(opts: DeleteOptions): Promise<void> {
  const store = new ContainerStore(opts.root);
  let lock: Awaited<ReturnType<typeof lockContainer>>;
  try {
    lock = await lockContainer(store.dir(opts.id), opts.id);
  } catch (e) {
    if (opts.force && e instanceof CtrError && e.op.endsWith('does not exist')) return;
    throw e;
  }
  try {
    const record = store.tryRead(opts.id);
    if (!record) {
      // A create killed before it wrote any state: nothing runs, only the directory is left.
      store.remove(opts.id);
      return;
    }
    const status = currentStatus(store, record);
    if ((status === 'running' || status === 'paused' || status === 'creating') && !opts.force) {
      throw new CtrError({
        stage: 'runtime',
        op: `cannot delete container ${opts.id} that is not stopped: ${status}`,
        hint: 'stop it with `ctr kill` or use --force',
      });
    }
    await destroy(store, record);
    for (const hook of record.config.hooks?.poststop ?? []) {
      try {
        await runHooks('poststop', [hook], ociState(record, 'stopped'));
      } catch (e) {
        opts.warn?.((e as Error).message);
      }
    }
  } finally {
    lock.release();
  }
}
