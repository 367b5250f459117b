import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { CgroupPlan } from '@ctr/cgroups';
import { CtrError } from '@ctr/sys';
import type { Bundle, BundleConfig } from './bundle.ts';
import { notExist } from './errors.ts';
import { validateId } from './ids.ts';

/** The OCI state (runtime-spec "State") of a container. */
export interface OciState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

/** What the runtime keeps on disk for one container: the OCI state plus its own fields. */
export interface ContainerRecord extends OciState {
  /** RFC 3339 creation time. */
  created: string;
  /** The host path of the container's root filesystem. */
  rootfs: string;
  /** /proc starttime of the init, so a recycled pid is never mistaken for it. */
  initStartTime?: string;
  /** The configuration the container was created with (the bundle may change later). */
  config: BundleConfig;
  /** The container's cgroup as @ctr/cgroups planned it (plain data; reopened by later commands). */
  cgroup?: CgroupPlan;
  /** Whether the container's cgroup is frozen. */
  paused?: boolean;
}

export const DEFAULT_ROOT = '/run/ctr';

/** The record of a container being created from `bundle`, before anything runs. */
export function creatingRecord(bundle: Bundle, id: string): ContainerRecord {
  const { config } = bundle;
  const record: ContainerRecord = {
    ociVersion: config.ociVersion,
    id,
    status: 'creating',
    bundle: bundle.dir,
    created: new Date().toISOString(),
    rootfs: bundle.rootfs,
    config,
  };
  if (config.annotations) record.annotations = config.annotations;
  return record;
}

/** The container store under --root: one directory per container holding state.json. */
export class ContainerStore {
  readonly root: string;

  constructor(root: string = DEFAULT_ROOT) {
    // Absolute once: a later chdir (or a namespace switch) must not move the store.
    this.root = resolve(root);
  }

  /** The directory of container `id`. */
  dir(id: string): string {
    validateId(id);
    return join(this.root, id);
  }

  /** The exec fifo the init blocks on until `start`. */
  execFifo(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Creates the directory of a new container; fails like runc when the id is taken. */
  allocate(id: string): string {
    const dir = this.dir(id);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CtrError({
          stage: 'runtime',
          op: `container with id exists: ${id}`,
          hint: 'delete it first (`ctr delete`) or choose another id',
        });
      }
      throw e;
    }
    return dir;
  }

  /** Reads a container's record, or throws "does not exist". */
  read(id: string): ContainerRecord {
    const record = this.tryRead(id);
    if (!record) throw notExist(id);
    return record;
  }

  /** Reads a container's record, or undefined when there is none (yet). */
  tryRead(id: string): ContainerRecord | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch {
      return undefined;
    }
    return JSON.parse(text) as ContainerRecord;
  }

  /**
   * Replaces state.json atomically: a reader (or a runtime killed mid-write) sees the
   * old or the new state, never a torn file.
   */
  write(record: ContainerRecord): void {
    const dir = this.dir(record.id);
    const tmp = join(dir, `.state.json.${process.pid}`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      // The rename makes the write atomic for every reader and for a runtime killed
      // halfway. No fsync: durability would only matter across a machine crash, and
      // no container survives one (runc does not sync its state either); it cost two
      // disk flushes per `run` where the root is not a tmpfs.
      writeSync(fd, JSON.stringify(record));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, 'state.json'));
  }

  /** Removes a container's directory; a missing one is fine (delete is idempotent). */
  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** The ids of every container directory under --root. */
  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
    }
  }
}
