import { closeSync, constants, openSync, readSync, unlinkSync } from 'node:fs';
import { CtrError, O } from '@ctr/sys';
import { runHooks } from '../hooks.ts';
import { lockContainer } from '../lock.ts';
import { isSameProcessAlive } from '../proc.ts';
import { currentStatus, ociState } from '../status.ts';
import { type ContainerRecord, ContainerStore } from '../store.ts';

export interface StartOptions {
  root?: string;
  id: string;
  /** Called for each poststart hook failure: the spec makes them warnings. */
  warn?: (message: string) => void;
}

/**
 * OCI `start`: opens the exec fifo, which releases the init into execve of the user
 * program, then runs the poststart hooks.
 */
export async function start(opts: StartOptions): Promise<ContainerRecord> {
  const store = new ContainerStore(opts.root);
  const lock = await lockContainer(store.dir(opts.id), opts.id);
  let record: ContainerRecord;
  try {
    record = store.read(opts.id);
    const status = currentStatus(store, record);
    if (status !== 'created') {
      throw new CtrError({
        stage: 'runtime',
        op:
          status === 'stopped'
            ? 'cannot start a container that has stopped'
            : status === 'running'
              ? 'cannot start an already running container'
              : `cannot start a container in the ${status} state`,
        hint: status === 'stopped' ? 'delete it and create it again' : undefined,
      });
    }
    await releaseInit(store.execFifo(opts.id), record);
    record.status = 'running';
    store.write(record);
  } finally {
    lock.release();
  }
  for (const hook of record.config.hooks?.poststart ?? []) {
    try {
      await runHooks('poststart', [hook], ociState(record, 'running'));
    } catch (e) {
      opts.warn?.((e as Error).message);
    }
  }
  return record;
}

/**
 * Reads the init's byte from the exec fifo. The read end is opened non-blocking (it
 * never waits for a writer) and polled, so a start never hangs on an init that died.
 */
async function releaseInit(fifo: string, record: ContainerRecord): Promise<void> {
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK | O.CLOEXEC);
  try {
    const buf = Buffer.alloc(1);
    for (;;) {
      let n = 0;
      try {
        n = readSync(fd, buf, 0, 1, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (n === 1) break;
      if (!isSameProcessAlive(record.pid!, record.initStartTime!)) {
        throw new CtrError({
          stage: 'runtime',
          op: 'cannot start a container that has stopped',
          hint: 'the init exited before start',
        });
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    unlinkSync(fifo);
  } finally {
    closeSync(fd);
  }
}
