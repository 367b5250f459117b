import { constants } from 'node:fs';
import {
  AT,
  CtrError,
  close,
  connectUnix,
  dup3,
  O,
  openat,
  openPtyPeer,
  SysError,
  sendFds,
  setControllingTerminal,
  setsid,
  setWindowSize,
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

/** A pty pair whose master goes to the console socket and whose slave becomes the container's terminal. */
export interface Console {
  socket: number;
  master: number;
  slave: number;
}

/**
 * Opens the pty before the root filesystem is built: @ctr/rootfs binds the slave onto
 * /dev/console from its fd (never from a path the container controls), so it must
 * exist first. It therefore comes from the host's devpts instance, as in runc before
 * 1.0, not from the container's own.
 */
export function openConsole(socket: number, size: { height: number; width: number } | undefined): Console {
  const master = openat(AT.FDCWD, '/dev/ptmx', constants.O_RDWR | O.NOCTTY);
  try {
    unlockPty(master);
    const slave = openPtyPeer(master);
    if (size) setWindowSize(slave, { rows: size.height, cols: size.width });
    return { socket, master, slave };
  } catch (e) {
    close(master);
    throw e;
  }
}

/**
 * Sends the master over the console socket as runc does (SCM_RIGHTS, the name
 * "/dev/ptmx" as payload) and makes the slave the controlling terminal and
 * stdin/stdout/stderr of the init, and so of the program.
 */
export function attachConsole(c: Console): void {
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
  for (const fd of [0, 1, 2]) dup3(c.slave, fd);
  close(c.slave);
}
