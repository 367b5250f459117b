// `ctr container run IMAGE`: store → unpack → config → runtime, and back again.
// Composition only: each step's rules live in its package.
import { openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capabilityNames, probePrivilegesHost } from '@ctr/capabilities';
import type { ImageStore, PullOptions } from '@ctr/image';
import { type CreateOptions, deleteContainer, run as runtimeRun } from '@ctr/runtime';
import { defaultSeccompProfile } from '@ctr/seccomp';
import { Annotation, type Platform, serializeJson } from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { SnapshotStore } from '@ctr/unpack';
import { type ContainerMeta, ContainerRecords } from './records.ts';
import { buildRunConfig, type RunOptions } from './run-config.ts';
import { defaultSnapshotsDir, readRootfsFile, type UnpackMode, unpackImage } from './unpack-image.ts';

export interface RunImageOptions extends RunOptions {
  ref: string;
  store: ImageStore;
  records?: ContainerRecords | undefined;
  /** The runtime's state directory (runc --root). */
  runtimeRoot?: string | undefined;
  name?: string | undefined;
  /** Remove the container and its root when the program exits. */
  rm?: boolean | undefined;
  detach?: boolean | undefined;
  /** Keep stdin attached (`-i`); otherwise the program reads /dev/null. */
  interactive?: boolean | undefined;
  rootMode?: UnpackMode | undefined;
  snapshotsDir?: string | undefined;
  platform?: Platform | undefined;
  pull?: Omit<PullOptions, 'platform'> | undefined;
  warn?: ((message: string) => void) | undefined;
  /**
   * Where the runtime makes the namespaces: a one-shot CLI passes 'calling-thread' so
   * a detached run can exit; the default Worker keeps a library caller's threads intact.
   */
  launchOn?: CreateOptions['launchOn'];
}

export interface RunImageResult {
  meta: ContainerMeta;
  /** The program's exit status (128+signal when killed); 0 when detached. */
  status: number;
}

/** Pulls when missing, makes the root, writes the config, runs it. */
export async function runImage(opts: RunImageOptions): Promise<RunImageResult> {
  refuseUnsupported(opts);
  const records = opts.records ?? new ContainerRecords();
  const id = records.newId();
  const name = opts.name ?? `ctr-${id.slice(0, 12)}`;
  records.checkName(name);
  const dir = records.dir(id);
  const bundle = join(dir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  const rootMode = opts.rootMode ?? 'overlay';
  const snapshotsDir = opts.snapshotsDir ?? defaultSnapshotsDir();
  let runtimeCreated = false;
  try {
    const unpacked = await unpackImage({
      store: opts.store,
      ref: opts.ref,
      target: rootfs,
      mode: rootMode,
      snapshotsDir,
      id,
      platform: opts.platform,
      pull: (ref, onEvent) =>
        opts.store.pull(ref, {
          ...opts.pull,
          ...(opts.platform ? { platform: opts.platform } : {}),
          onProgress: (e) => {
            opts.pull?.onProgress?.(e);
            onEvent(e);
          },
        }),
    });
    const config = buildRunConfig(unpacked.image.config, opts, {
      readRootfsFile: (path) => readRootfsFile(rootfs, path),
      rootPath: 'rootfs',
      defaultSeccomp: defaultSeccompProfile(),
      allCapabilities: grantableCapabilities(),
      cgroupsPath: `/ctr/${id}`,
      containerName: name,
    });
    writeFileSync(join(bundle, 'config.json'), `${serializeJson(config, '\t')}\n`, { mode: 0o600 });
    const meta: ContainerMeta = {
      id,
      name,
      image: opts.ref,
      command: config.process?.args ?? [],
      created: new Date().toISOString(),
      bundle,
      rootMode,
      stopSignal: config.annotations?.[Annotation.StopSignal],
      autoRemove: opts.rm === true,
    };
    records.save(meta);
    // With -t the program's stdio is the terminal; ctr relays its own stdin into it
    // only with -i, as podman does.
    const stdin = opts.interactive ? 'inherit' : openSync('/dev/null', 'r');
    runtimeCreated = true;
    const status = await runtimeRun({
      id,
      bundle,
      ...(opts.runtimeRoot ? { root: opts.runtimeRoot } : {}),
      stdio: [stdin, 'inherit', 'inherit'],
      detach: opts.detach === true,
      terminalStdin: opts.interactive === true,
      ...(opts.launchOn ? { launchOn: opts.launchOn } : {}),
      // A foreground run keeps its stopped state until `rm` unless --rm asked otherwise.
      keep: !opts.rm,
      ...(opts.warn ? { warn: opts.warn } : {}),
    });
    if (opts.rm && !opts.detach)
      await removeContainer(meta, { records, runtimeRoot: opts.runtimeRoot, snapshotsDir });
    return { meta, status };
  } catch (e) {
    if (runtimeCreated)
      await deleteContainer({
        id,
        force: true,
        ...(opts.runtimeRoot ? { root: opts.runtimeRoot } : {}),
      }).catch(() => {});
    releaseRoot(id, rootfs, rootMode, snapshotsDir);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * What --privileged and --cap-add ALL mean, as podman reads them: every capability this
 * process can pass on. A runtime that lost some (a confined CI, a container host) would
 * otherwise refuse the whole config for a capability it never had.
 */
function grantableCapabilities(): string[] {
  const host = probePrivilegesHost();
  return capabilityNames(host.bounding & host.permitted);
}

// Checked before anything is pulled or unpacked, so a refused run leaves nothing behind.
function refuseUnsupported(opts: RunImageOptions): void {
  if (opts.tty && opts.detach) {
    throw new CtrError({
      stage: 'containers',
      op: 'run with --tty and --detach',
      hint: 'no monitor process holds the terminal of a detached container yet; run -d without -t',
    });
  }
  if (opts.rm && opts.detach) {
    throw new CtrError({
      stage: 'containers',
      op: 'run with --rm and --detach',
      hint: 'no monitor process removes a detached container yet; run -d, then ctr container rm -f NAME',
    });
  }
}

export interface RemoveOptions {
  records?: ContainerRecords | undefined;
  runtimeRoot?: string | undefined;
  snapshotsDir?: string | undefined;
  /** Kill it first when it runs. */
  force?: boolean | undefined;
}

/** Deletes the runtime container, unmounts and releases its root, removes its directory. */
export async function removeContainer(meta: ContainerMeta, opts: RemoveOptions = {}): Promise<void> {
  const records = opts.records ?? new ContainerRecords();
  await deleteContainer({
    id: meta.id,
    force: true,
    ...(opts.runtimeRoot ? { root: opts.runtimeRoot } : {}),
  });
  releaseRoot(
    meta.id,
    join(meta.bundle, 'rootfs'),
    meta.rootMode,
    opts.snapshotsDir ?? defaultSnapshotsDir(),
  );
  rmSync(records.dir(meta.id), { recursive: true, force: true });
}

function releaseRoot(id: string, rootfs: string, mode: UnpackMode, snapshotsDir: string): void {
  if (mode !== 'overlay') return;
  try {
    new SnapshotStore(snapshotsDir).unmountRoot(id, rootfs);
  } catch {
    // Never mounted (the unpack failed before) or already released.
  }
}
