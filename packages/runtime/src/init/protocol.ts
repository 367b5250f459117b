import type { NamespaceOp } from '@ctr/namespaces';
import type { RootfsPlan } from '@ctr/rootfs';
import type { LinuxPersonality, LinuxSeccomp, Process } from '@ctr/spec';
import type { BundleConfig } from '../bundle.ts';

/** The fd on which the init talks to the runtime that launched it (stdio[3] of spawn). */
export const SYNC_FD = 3;

/** What the runtime sends the init once it has placed it in its cgroup. */
export interface Bootstrap {
  type: 'bootstrap';
  id: string;
  /** The init's pid as the host sees it, and the bundle: the state hooks receive. */
  pid: number;
  bundle: string;
  config: BundleConfig;
  /** How the root filesystem is built (@ctr/rootfs, planned by the runtime). */
  rootfs: RootfsPlan;
  /** Host path of the exec fifo; the init opens it O_PATH before pivot_root. */
  execFifo: string;
  /** Extra fds after stdio that stay open in the program (--preserve-fds). */
  preserveFds: number;
  noPivot: boolean;
  /** process.terminal: where the pty master goes. */
  consoleSocket: string | undefined;
  noNewKeyring: boolean;
  /** What the init does itself in namespaces unshare(1) made (the uts names). */
  namespaceOps: NamespaceOp[];
}

/**
 * What `exec` sends the helper that joins a running container. The helper was spawned
 * into every namespace of the container but the mount namespace, whose fd it finds
 * right after its sync fd: it joins that one itself, last, since it takes the host's
 * files (Node's included) out of reach.
 */
export interface ExecBootstrap {
  type: 'exec';
  process: Process;
  /** The container's profile: every process in a container runs under it, as in runc. */
  seccomp: LinuxSeccomp | undefined;
  personality: LinuxPersonality | undefined;
  /** Whether the fd after the sync fd is the container's mount namespace. */
  joinMount: boolean;
  preserveFds: number;
  /** process.terminal: where the pty master goes. */
  consoleSocket: string | undefined;
}

export type ToInit = Bootstrap | ExecBootstrap | { type: 'hooks-done' } | { type: 'abort'; reason: string };

/** A CtrError flattened for the pipe. */
export interface WireError {
  message: string;
  stage?: string;
  op?: string;
  path?: string;
  errno?: number;
  hint?: string;
}

export type FromInit = { type: 'hooks' } | { type: 'ready' } | { type: 'error'; error: WireError };
