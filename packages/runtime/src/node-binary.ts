import {
  AT,
  CtrError,
  close,
  fstatfsFlags,
  MOUNT_ATTR,
  mountSetattr,
  O,
  OPEN_TREE,
  openat,
  openTree,
  ST,
} from '@ctr/sys';

/**
 * A read-only handle on the Node binary to start a container's init (or exec helper)
 * from. The init runs Node inside the container until it execs the program, and a
 * program that is a `#!/proc/self/exe` script (or an ELF whose interpreter is that
 * path) makes the kernel run the exec'ing process's own binary again, now as a
 * container process: from there `/proc/<pid>/exe` reaches the host's Node and, once
 * no Node runs, can be opened for writing (runc CVE-2019-5736). Starting Node through
 * a detached read-only clone of its mount makes that exe read-only: the write fails
 * with EROFS whatever the container does with it. Nothing is attached anywhere, so no
 * mount propagates to the host.
 */
export function openReadOnlyNodeBinary(): number {
  let fd: number;
  try {
    fd = openTree(AT.FDCWD, process.execPath, OPEN_TREE.CLONE);
  } catch (cause) {
    throw new CtrError({
      stage: 'runtime',
      op: 'clone the Node binary read-only',
      path: process.execPath,
      hint: 'open_tree(2) needs CAP_SYS_ADMIN; the runtime must run as root',
      cause,
    });
  }
  mountSetattr(fd, '', AT.EMPTY_PATH, { attrSet: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV });
  return fd;
}

/** Whether this process runs Node through a read-only mount (reexecFromReadOnlyNode, or a read-only install). */
export function runningFromReadOnlyNode(): boolean {
  const fd = openat(AT.FDCWD, '/proc/self/exe', O.PATH);
  try {
    return (fstatfsFlags(fd) & ST.RDONLY) !== 0;
  } finally {
    close(fd);
  }
}

/**
 * Replaces this process with the same command run from the read-only clone, for a
 * launcher that forks the program from this process's own thread: until its execve
 * the program's /proc/self/exe is this process's Node. The clone's fd stays
 * close-on-exec: execve opens the binary before it closes those.
 */
export function reexecFromReadOnlyNode(): never {
  const fd = openReadOnlyNodeBinary();
  const [, script, ...args] = process.argv;
  process.execve!(
    `/proc/self/fd/${fd}`,
    [process.argv0, ...process.execArgv, '--', script!, ...args],
    process.env as Record<string, string>,
  );
  // execve returns only by throwing.
  process.exit(127);
}
