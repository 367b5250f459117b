import { constants } from 'node:fs';
import {
  AT,
  CtrError,
  close,
  connectUnix,
  dup3,
  FS_MAGIC,
  fchown,
  fstatfsType,
  O,
  openat,
  openat2,
  openPtyPeer,
  RESOLVE,
  SysError,
  sendFds,
  setControllingTerminal,
  setsid,
  setWindowSize,
  stageError,
  unlockPty,
} from '@ctr/sys';

/**
 * Connects to --console-socket while its host path is still reachable (before
 * pivot_root). The socket fd is close-on-exec.
 */
export function connectConsoleSocket(path: string): number {
  try {
    return connectUnix(path);
  } catch (cause) {
    throw new CtrError({
      stage: 'runtime',
      op: `connect to console socket ${path}`,
      hint: 'the caller must listen on this AF_UNIX socket before create',
      cause,
    });
  }
}

/**
 * The container's terminal: the master goes to the console socket, the slave becomes
 * the program's controlling terminal and stdio. Both are -1 until `openConsole`.
 */
export interface Console {
  socket: number;
  size: { height: number; width: number } | undefined;
  master: number;
  slave: number;
}

export function prepareConsole(socket: number, size: Console['size']): Console {
  return { socket, size, master: -1, slave: -1 };
}

/**
 * The options for applyRootfs that open the pty at its `console` op: the container's
 * devpts is mounted by then and the root not yet pivoted. @ctr/rootfs reads
 * `consoleFd` only at that op, so the getter runs exactly there and hands it the slave
 * to bind onto /dev/console.
 */
export function consoleAtRootfs(c: Console, root: string): { readonly consoleFd: number } {
  return {
    get consoleFd() {
      return openConsole(c, root);
    },
  };
}

const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;

/**
 * Opens the pty from the container's own devpts instance (runc since 1.0): its
 * /dev/pts/ptmx, resolved inside the root without following symlinks, so the program
 * sees /dev/pts/0 as its tty and no host pty number leaks in. The host's /dev/ptmx is
 * never used: its slaves live in the host's devpts, which the container does not have.
 */
export function openConsole(c: Console, root: string): number {
  // Stage rootfs: this runs as the plan's console op, and applyRootfs passes its own
  // stage's errors through whole (errno and hint intact).
  const op = 'open the terminal /dev/pts/ptmx in the container';
  const hint =
    'process.terminal needs a devpts mount at /dev/pts with newinstance,ptmxmode=0666 (runc spec has one)';
  const rootfd = openat(AT.FDCWD, root, O.PATH | O.DIRECTORY);
  let pts: number;
  try {
    pts = openat2(rootfd, 'dev/pts', { flags: O.PATH | O.DIRECTORY, resolve: IN_ROOT });
  } catch (cause) {
    throw stageError({ stage: 'rootfs', op, hint, cause });
  } finally {
    close(rootfd);
  }
  try {
    // Checked before anything is opened for real: an image's own /dev/pts/ptmx could
    // be any device node, and opening some has effects.
    if (fstatfsType(pts) !== FS_MAGIC.DEVPTS) {
      throw new CtrError({ stage: 'rootfs', op, hint: `/dev/pts is not a devpts filesystem: ${hint}` });
    }
    c.master = openat2(pts, 'ptmx', {
      flags: constants.O_RDWR | O.NOCTTY,
      resolve: RESOLVE.BENEATH | RESOLVE.NO_XDEV | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS,
    });
  } finally {
    close(pts);
  }
  unlockPty(c.master);
  c.slave = openPtyPeer(c.master);
  if (c.size) setWindowSize(c.slave, { rows: c.size.height, cols: c.size.width });
  return c.slave;
}

/**
 * Sends the master over the console socket as runc does (SCM_RIGHTS, the name
 * "/dev/ptmx" as payload) and makes the slave the controlling terminal and
 * stdin/stdout/stderr of the init, and so of the program, owned by the program's user
 * so it can reopen its own tty (runc's fixStdioPermissions).
 */
export function attachConsole(c: Console, uid: number): void {
  if (c.slave < 0) {
    throw new CtrError({
      stage: 'runtime',
      op: 'attach the terminal',
      hint: 'the root filesystem plan has no console op: process.terminal must be true when it is planned',
    });
  }
  try {
    sendFds(c.socket, Buffer.from('/dev/ptmx'), [c.master]);
  } finally {
    close(c.master);
    close(c.socket);
  }
  try {
    setsid();
  } catch (e) {
    // Spawned detached, the init already leads its own session.
    if (!(e instanceof SysError && e.code === 'EPERM')) throw e;
  }
  setControllingTerminal(c.slave);
  fchown(c.slave, uid, -1);
  for (const fd of [0, 1, 2]) dup3(c.slave, fd);
  close(c.slave);
}
