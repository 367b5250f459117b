import type { NamespaceOp } from '@ctr/namespaces';
import type { RootfsPlan } from '@ctr/rootfs';
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

export type ToInit = Bootstrap | { type: 'hooks-done' } | { type: 'abort'; reason: string };

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
