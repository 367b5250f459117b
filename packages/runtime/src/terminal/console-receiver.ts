import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { acceptUnix, CtrError, close, listenUnix, recvFds } from '@ctr/sys';

/**
 * The --console-socket that a foreground `run` passes to its own container, as runc
 * does when it has a terminal and no caller took it: the init sends the pty master
 * here and this process relays it.
 */
export interface ConsoleReceiver {
  /** The socket's path, for CreateOptions.consoleSocket. */
  readonly path: string;
  /** Takes the master the init sent during create (close-on-exec). */
  receive(): number;
  /** Closes the socket and removes its directory. Idempotent. */
  close(): void;
}

/**
 * Listens in a fresh 0700 directory, so no other user can connect first and hand the
 * runtime a terminal of their own.
 */
export function openConsoleReceiver(): ConsoleReceiver {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-console-'));
  const path = join(dir, 'console.sock');
  let listener: number;
  try {
    listener = listenUnix(path);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    path,
    receive() {
      let conn: number;
      try {
        // create returns only after the init sent the master, so the connection waits
        // in the backlog already; the listener is non-blocking and never hangs here.
        conn = acceptUnix(listener);
      } catch (cause) {
        throw new CtrError({
          stage: 'runtime',
          op: 'receive the terminal from the container',
          hint: 'the init did not connect to the console socket',
          cause,
        });
      }
      try {
        const { fds } = recvFds(conn, 1);
        const [master, ...extra] = fds;
        for (const fd of extra) close(fd);
        if (master === undefined || !isatty(master)) {
          if (master !== undefined) close(master);
          throw new CtrError({
            stage: 'runtime',
            op: 'receive the terminal from the container',
            hint: 'the console socket message carried no pty master',
          });
        }
        return master;
      } finally {
        close(conn);
      }
    },
    close() {
      if (listener < 0) return;
      close(listener);
      listener = -1;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
