import {
  CLONE,
  close,
  NS_FILES,
  type NsFile,
  namespaceId,
  openNamespace,
  setdomainname,
  setgroups,
  sethostname,
  setns,
  setresgid,
  setresuid,
  stageError,
  unshare,
} from '@ctr/sys';
import type { NamespaceOp, NamespacesPlan } from './plan.ts';
import type { NamespaceType } from './types.ts';

/** The CLONE_NEW* flag of each OCI namespace type. */
export const CLONE_FLAGS: Record<NamespaceType, number> = {
  user: CLONE.NEWUSER,
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** The /proc/<pid>/ns entry of each OCI namespace type. */
export const NS_FILE: Record<NamespaceType, NsFile> = Object.fromEntries(
  Object.entries(CLONE_FLAGS).map(([t, f]) => [t, NS_FILES[f as keyof typeof NS_FILES]]),
) as Record<NamespaceType, NsFile>;

/**
 * Performs the thread half of a plan on the calling thread: joins namespaces by path
 * (after checking each path is a namespace of that type), unshares the new ones and
 * sets the uts names. The thread is changed for good: call it on a
 * sacrificial thread (spawnFromSacrificialThread) or in a process that will exec.
 */
export function applyNamespaces(plan: NamespacesPlan): void {
  applyNamespaceOps(plan.thread);
}

/** Performs namespace operations on the calling thread, in order (also the plan's `init` half). */
export function applyNamespaceOps(ops: readonly NamespaceOp[]): void {
  for (const op of ops) {
    switch (op.op) {
      case 'join':
        joinNamespace(op.type, op.path);
        break;
      case 'unshare': {
        let flags = 0;
        for (const t of op.types) flags |= CLONE_FLAGS[t];
        // A private mount table needs a private fs context (root, cwd) too.
        if (op.types.includes('mount')) flags |= CLONE.FS;
        wrap(`unshare ${op.types.join(',')}`, undefined, () => unshare(flags));
        break;
      }
      case 'sethostname':
        wrap(`set hostname ${op.name}`, undefined, () => sethostname(op.name));
        break;
      case 'setdomainname':
        wrap(`set domainname ${op.name}`, undefined, () => setdomainname(op.name));
        break;
      case 'become-root':
        becomeRoot(op.setgroups);
        break;
    }
  }
}

/**
 * Raw per-thread syscalls: glibc's wrappers would signal every thread of Node to
 * follow, and only this one is the container's. gid before uid: changing the uid
 * first would leave no right to change the gid.
 */
function becomeRoot(dropGroups: boolean): void {
  const hint = 'the parent must write uid_map and gid_map with a mapping for id 0 before the init runs this';
  if (dropGroups) wrap('drop the host supplementary groups', undefined, () => setgroups([]), hint);
  wrap('setresgid 0 in the user namespace', undefined, () => setresgid(0, 0, 0), hint);
  wrap('setresuid 0 in the user namespace', undefined, () => setresuid(0, 0, 0), hint);
}

function joinNamespace(type: NamespaceType, path: string): void {
  let fd: number;
  try {
    fd = openNamespace(path, CLONE_FLAGS[type]);
  } catch (e) {
    throw stageError({
      stage: 'namespaces',
      op: `join ${type} namespace`,
      path,
      cause: e,
      hint: `${path} must be a ${NS_FILE[type]} namespace file (/proc/<pid>/ns/${NS_FILE[type]} or a bind mount of one): ${(e as Error).message}`,
    });
  }
  try {
    wrap(`join ${type} namespace`, path, () => setns(fd, CLONE_FLAGS[type]));
  } finally {
    close(fd);
  }
}

function wrap(op: string, path: string | undefined, f: () => void, hint?: string): void {
  try {
    f();
  } catch (e) {
    throw stageError({ stage: 'namespaces', op, path, cause: e, hint });
  }
}

/** Open handles on the namespaces a thread was in, to go back to them. */
export interface SavedNamespaces {
  fds: { type: NamespaceType; fd: number; id: bigint }[];
}

/**
 * Opens the calling thread's current namespaces of the given types so they can be
 * restored later. The user namespace cannot be saved: no Node thread may re-enter it.
 */
export function saveThreadNamespaces(types: readonly NamespaceType[]): SavedNamespaces {
  const fds: SavedNamespaces['fds'] = [];
  for (const type of types) {
    if (type === 'user') {
      throw stageError({
        stage: 'namespaces',
        op: 'save user namespace',
        hint: 'a multithreaded process cannot setns into a user namespace, so it cannot be restored',
      });
    }
    const path = `/proc/thread-self/ns/${NS_FILE[type]}`;
    fds.push({
      type,
      fd: openNamespace(path, CLONE_FLAGS[type]),
      id: namespaceId('thread-self', NS_FILE[type]),
    });
  }
  return { fds };
}

/**
 * Moves the calling thread back into saved namespaces and closes the handles. For pid
 * and time this changes only where future children go; the mount namespace also
 * resets the thread's root and cwd to that namespace's root.
 */
export function restoreThreadNamespaces(saved: SavedNamespaces): void {
  try {
    for (const { type, fd } of saved.fds) {
      wrap(`restore ${type} namespace`, undefined, () => setns(fd, CLONE_FLAGS[type]));
    }
  } finally {
    for (const { fd } of saved.fds) close(fd);
    saved.fds.length = 0;
  }
}
