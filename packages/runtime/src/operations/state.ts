import { currentStatus, ociState } from '../status.ts';
import { type ContainerRecord, type ContainerStatus, ContainerStore } from '../store.ts';

/** One container as `state` and `list` print it: the OCI state plus runc's extra fields. */
export interface ContainerInfo {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

function info(store: ContainerStore, record: ContainerRecord): ContainerInfo {
  const status = currentStatus(store, record);
  const oci = ociState(record, status);
  const out: ContainerInfo = {
    ociVersion: oci.ociVersion,
    id: oci.id,
    pid: oci.pid ?? 0,
    status,
    bundle: oci.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: '',
  };
  if (oci.annotations) out.annotations = oci.annotations;
  return out;
}

/** OCI `state`: the container's state now (without taking its lock, like runc). */
export function state(opts: { root?: string; id: string }): ContainerInfo {
  const store = new ContainerStore(opts.root);
  return info(store, store.read(opts.id));
}

/** Every container under --root; directories without a state yet are left out. */
export function list(opts: { root?: string } = {}): ContainerInfo[] {
  const store = new ContainerStore(opts.root);
  const out: ContainerInfo[] = [];
  for (const id of store.ids()) {
    let record: ContainerRecord | undefined;
    try {
      record = store.tryRead(id);
    } catch {
      continue;
    }
    if (record) out.push(info(store, record));
  }
  return out;
}
