import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openCgroup, parseProcCgroup } from '@ctr/cgroups';
import { type ChildExit, planNamespaces } from '@ctr/namespaces';
import { planRootfs, readHostCgroups } from '@ctr/rootfs';
import { AT, CtrError, fchownat, mknodat, S } from '@ctr/sys';
import { loadBundle } from '../bundle.ts';
import { planContainerCgroup } from '../container-cgroup.ts';
import { runHooks } from '../hooks.ts';
import { type InitChannel, type LaunchOn, launchInit, type StdioFd } from '../launcher.ts';
import { lockContainer } from '../lock.ts';
import { writePidFile } from '../pid-file.ts';
import { procInfo } from '../proc.ts';
import { ociState } from '../status.ts';
import { type ContainerRecord, ContainerStore, creatingRecord } from '../store.ts';
import { hostOwner } from '../userns.ts';
import { fromWire } from '../wire-error.ts';
import { destroy } from './destroy.ts';

export interface CreateOptions {
  /** State directory (runc --root). */
  root?: string;
  id: string;
  /** Bundle directory holding config.json. */
  bundle: string;
  /** Written with the init's pid once the container is created. */
  pidFile?: string;
  /** Extra fds after stdio passed into the container. */
  preserveFds?: number;
  /** Stay in the old root with MS_MOVE + chroot instead of pivot_root (ramfs roots). */
  noPivot?: boolean;
  /** Do not create a session keyring for the container. */
  noNewKeyring?: boolean;
  /** Path of an AF_UNIX socket that receives the pty master (process.terminal). */
  consoleSocket?: string;
  /** The container's stdin, stdout, stderr; inherited from the caller by default. */
  stdio?: readonly [StdioFd, StdioFd, StdioFd];
  /** Where the namespaces are made: a Worker by default, the calling thread in the CLI. */
  launchOn?: LaunchOn;
}

export interface CreatedContainer {
  record: ContainerRecord;
  /** Resolves when the init (then the program) exits: `run` waits on it for the status. */
  exited: Promise<ChildExit>;
  /** Lets this process exit while the container lives on. */
  release(): void;
}

/**
 * OCI `create`: validates the bundle, launches the init in new namespaces, places it
 * in its cgroup, lets it apply every stage, runs the createRuntime/createContainer
 * hooks, and leaves it blocked before the user program (state `created`).
 * Any failure tears everything down again and names the stage that failed.
 */
export async function create(opts: CreateOptions): Promise<CreatedContainer> {
  const created = await createHeld(opts);
  // The init outlives a one-shot `create`.
  created.release();
  return created;
}

/** `create` that keeps this process tied to the init, for `run` to wait on it. */
export async function createHeld(opts: CreateOptions): Promise<CreatedContainer> {
  const store = new ContainerStore(opts.root);
  const bundle = loadBundle(opts.bundle);
  const pidFile = opts.pidFile !== undefined ? resolve(opts.pidFile) : undefined;
  const config = bundle.config;
  if (config.process?.terminal && !opts.consoleSocket) {
    throw new CtrError({
      stage: 'runtime',
      op: 'create',
      hint: 'process.terminal is true: pass --console-socket (or use `ctr run` in the foreground)',
    });
  }
  if (opts.consoleSocket && !config.process?.terminal) {
    throw new CtrError({
      stage: 'runtime',
      op: 'create with --console-socket',
      hint: 'use --console-socket only with process.terminal set to true',
    });
  }
  const dir = store.allocate(opts.id);
  const lock = await lockContainer(dir, opts.id);
  const record = creatingRecord(bundle, opts.id);
  let channel: InitChannel | undefined;
  let exited: Promise<ChildExit> | undefined;
  let release = () => {};
  try {
    const namespaces = planNamespaces(config);
    // Checked now, before anything is launched; planned again below with the cgroup
    // the init was placed in, which the cgroup mounts show.
    planRootfs(config, { bundleDir: bundle.dir, noPivot: opts.noPivot ?? false, cgroups: readHostCgroups() });
    // The cgroup exists, with its limits, before the init does: the init is moved in
    // before it is told to do anything the user's config controls.
    const cgroupPlan = planContainerCgroup(config, opts.id);
    record.cgroup = cgroupPlan;
    store.write(record);
    const cgroup = openCgroup(cgroupPlan);
    cgroup.create();
    cgroup.applyResources();

    const fifo = store.execFifo(opts.id);
    mknodat(AT.FDCWD, fifo, S.IFIFO | 0o622);
    // The init reopens the fifo after it has taken the container's ids (host ids
    // through the maps in a user namespace).
    const owner = hostOwner(namespaces, config.process!.user);
    fchownat(AT.FDCWD, fifo, owner.uid, owner.gid);

    const launched = await launchInit({
      stdio: opts.stdio ?? ['inherit', 'inherit', 'inherit'],
      preserveFds: opts.preserveFds ?? 0,
      namespaces,
      launchOn: opts.launchOn ?? 'worker',
    });
    channel = launched.channel;
    exited = launched.exited;
    release = launched.release;
    record.pid = launched.pid;
    const info = procInfo(launched.pid);
    if (info) record.initStartTime = info.startTime;
    store.write(record);
    cgroup.addProcess(launched.pid);
    const rootfs = planRootfs(config, {
      bundleDir: bundle.dir,
      noPivot: opts.noPivot ?? false,
      cgroups: readHostCgroups(),
      cgroupPaths: parseProcCgroup(readFileSync(`/proc/${launched.pid}/cgroup`, 'utf8')),
    });

    channel.send({
      type: 'bootstrap',
      id: opts.id,
      pid: launched.pid,
      bundle: bundle.dir,
      config,
      rootfs,
      execFifo: fifo,
      preserveFds: opts.preserveFds ?? 0,
      noPivot: opts.noPivot ?? false,
      consoleSocket: opts.consoleSocket !== undefined ? resolve(opts.consoleSocket) : undefined,
      noNewKeyring: opts.noNewKeyring ?? false,
      namespaceOps: namespaces.init,
    });
    for (;;) {
      const message = await channel.next();
      if (message === undefined) {
        const status = describe(await launched.exited);
        throw new CtrError({
          stage: 'runtime',
          op: 'create: the container init exited before it was ready',
          hint: status,
        });
      }
      if (message.type === 'error') throw fromWire(message.error);
      if (message.type === 'ready') break;
      const state = ociState(record, 'creating');
      try {
        // prestart is deprecated but still run, at the createRuntime point as runc does.
        await runHooks('prestart', config.hooks?.prestart, state);
        await runHooks('createRuntime', config.hooks?.createRuntime, state);
        await runHooks('createContainer', config.hooks?.createContainer, state);
        channel.send({ type: 'hooks-done' });
      } catch (e) {
        channel.send({ type: 'abort', reason: (e as Error).message });
        throw e;
      }
    }
    record.status = 'created';
    store.write(record);
    if (pidFile) writePidFile(pidFile, launched.pid);
  } catch (e) {
    channel?.close();
    try {
      await destroy(store, record);
    } finally {
      lock.release();
    }
    throw e;
  }
  channel.close();
  lock.release();
  return { record, exited: exited!, release };
}

function describe(exit: ChildExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit status ${exit.code}`;
}
