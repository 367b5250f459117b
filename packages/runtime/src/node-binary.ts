import { AT, CtrError, MOUNT_ATTR, mountSetattr, OPEN_TREE, openTree } from '@ctr/sys';

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
