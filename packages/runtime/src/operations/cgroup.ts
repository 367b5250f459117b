import { type Cgroup, type CgroupStats, openCgroup } from '@ctr/cgroups';
import type { LinuxResources } from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { lockContainer } from '../lock.ts';
import { currentStatus } from '../status.ts';
import { type ContainerRecord, ContainerStore } from '../store.ts';

interface Target {
  root?: string;
  id: string;
}

function cgroupOf(record: ContainerRecord): Cgroup {
  if (!record.cgroup) {
    throw new CtrError({
      stage: 'runtime',
      op: `container ${record.id} has no cgroup`,
      hint: 'it was created by an older ctr',
    });
  }
  return openCgroup(record.cgroup);
}

/** Runs `fn` on a container holding its lock, after checking its status is one of `allowed`. */
async function withContainer<T>(
  t: Target,
  allowed: readonly string[],
  refuse: (status: string) => string,
  fn: (store: ContainerStore, record: ContainerRecord) => Promise<T>,
): Promise<T> {
  const store = new ContainerStore(t.root);
  const lock = await lockContainer(store.dir(t.id), t.id);
  try {
    const record = store.read(t.id);
    const status = currentStatus(store, record);
    if (!allowed.includes(status)) throw new CtrError({ stage: 'runtime', op: refuse(status) });
    return await fn(store, record);
  } finally {
    lock.release();
  }
}

/** `pause`: freezes every process of the container (cgroup freezer). */
export function pause(t: Target): Promise<void> {
  return withContainer(
    t,
    ['running', 'created'],
    () => 'container not running',
    async (store, record) => {
      await cgroupOf(record).freeze();
      record.paused = true;
      store.write(record);
    },
  );
}

/** `resume`: thaws a paused container. */
export function resume(t: Target): Promise<void> {
  return withContainer(
    t,
    ['paused'],
    () => 'container not paused',
    async (store, record) => {
      await cgroupOf(record).thaw();
      record.paused = false;
      store.write(record);
    },
  );
}

/** `ps`: the host pids of every process in the container's cgroup. */
export function processes(t: Target): Promise<number[]> {
  return withContainer(
    t,
    ['running', 'created', 'paused'],
    () => 'container not running',
    async (_s, record) =>
      cgroupOf(record)
        .pids()
        .sort((a, b) => a - b),
  );
}

/** `events --stats`: the container's cgroup statistics now. */
export function stats(t: Target): Promise<CgroupStats> {
  return withContainer(
    t,
    ['running', 'created', 'paused'],
    (s) => `container ${t.id} is ${s}`,
    async (_s, record) => cgroupOf(record).stats(),
  );
}

/** `update`: changes the resource limits of a live container and keeps them in its config. */
export function update(t: Target & { resources: LinuxResources }): Promise<void> {
  return withContainer(
    t,
    ['running', 'created', 'paused'],
    (s) => `cannot update a container that is ${s}`,
    async (store, record) => {
      cgroupOf(record).update(t.resources);
      const linux = record.config.linux ?? {};
      linux.resources = { ...linux.resources, ...t.resources };
      record.config.linux = linux;
      store.write(record);
    },
  );
}
