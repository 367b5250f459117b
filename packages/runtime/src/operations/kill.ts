import { openCgroup } from '@ctr/cgroups';
import { CtrError } from '@ctr/sys';
import { lockContainer } from '../lock.ts';
import { signalProcess } from '../process-signal.ts';
import { parseSignal, signalName } from '../signals.ts';
import { currentStatus } from '../status.ts';
import { ContainerStore } from '../store.ts';

export interface KillOptions {
  root?: string;
  id: string;
  /** Name ("TERM", "SIGKILL") or number; SIGTERM by default, as runc. */
  signal?: string | number;
  /** Signal every process of the container, not only its init. */
  all?: boolean;
}

/** OCI `kill`: sends a signal to the container's init (or with `all` to all its processes). */
export async function kill(opts: KillOptions): Promise<void> {
  const signal = parseSignal(opts.signal ?? 'SIGTERM');
  const store = new ContainerStore(opts.root);
  const lock = await lockContainer(store.dir(opts.id), opts.id);
  try {
    const record = store.read(opts.id);
    const status = currentStatus(store, record);
    if (status === 'stopped' || status === 'creating') {
      throw new CtrError({ stage: 'runtime', op: 'container not running', hint: `${opts.id} is ${status}` });
    }
    if (opts.all && record.cgroup) {
      await openCgroup(record.cgroup).killAll(signalName(signal) as NodeJS.Signals);
      return;
    }
    if (!signalProcess(record.pid!, record.initStartTime!, signal)) {
      throw new CtrError({ stage: 'runtime', op: 'container not running', hint: `${opts.id} has exited` });
    }
  } finally {
    lock.release();
  }
}
