import { ReadStream } from 'node:tty';
import {
  getTerminalMode,
  getWindowSize,
  rawTerminalMode,
  setTerminalMode,
  setWindowSize,
  type WindowSize,
} from '@ctr/sys';

/** A container terminal relayed to this process's own stdin and stdout. */
export interface TerminalRelay {
  /** Resolves once every slave fd is closed and the container's last output is written out. */
  readonly drained: Promise<void>;
  /** Copies this process's terminal size onto the container's (on SIGWINCH). */
  resize(): void;
  /** Stops relaying, puts this process's terminal back as it was, closes the master. Idempotent. */
  close(): void;
}

/**
 * The size of the terminal this process runs in (its stdin, else its stdout), or
 * undefined when it has none.
 */
export function hostWindowSize(): WindowSize | undefined {
  for (const fd of [0, 1]) {
    try {
      return getWindowSize(fd);
    } catch {
      // Not a terminal: try the next one.
    }
  }
  return undefined;
}

/**
 * Relays the pty `master` like runc's foreground `run` with a terminal: master →
 * stdout and, when `input`, stdin → master with this process's terminal in raw mode,
 * so keys like ^C and ^Z reach the container's line discipline instead of signalling
 * ctr. Raw mode is undone by close(), and on exit should close() never run.
 */
export function relayTerminal(master: number, opts: { input: boolean }): TerminalRelay {
  // One libuv handle reads and writes the master (an fd can sit in epoll only once);
  // tty.ReadStream is that duplex.
  const pty = new ReadStream(master);
  const stdin = process.stdin;
  // cfmakeraw rather than Node's setRawMode, which keeps output processing on and
  // turns the container's \r\n into \r\r\n on the way out.
  const saved = opts.input && stdin.isTTY === true ? getTerminalMode(0) : undefined;
  const restore = () => {
    if (saved) setTerminalMode(0, saved);
  };
  let closed = false;
  const resize = () => {
    // After close the fd number may already belong to another file.
    if (closed) return;
    const size = hostWindowSize();
    if (size) setWindowSize(master, size);
  };
  resize();
  if (saved) {
    process.once('exit', restore);
    setTerminalMode(0, rawTerminalMode(saved));
  }
  const stdout = process.stdout;
  // A hung-up terminal (EIO) or a reader gone (EPIPE) must not crash ctr and leave the
  // container behind: input stops, output is read and dropped so the program never
  // blocks on a full pty, and its exit status still comes back.
  const inputFailed = () => stdin.unpipe(pty);
  const outputFailed = () => {
    pty.unpipe(stdout);
    pty.resume();
  };
  if (opts.input) {
    stdin.on('error', inputFailed);
    stdin.pipe(pty, { end: false });
  }
  stdout.on('error', outputFailed);
  pty.pipe(stdout, { end: false });
  const drained = new Promise<void>((resolve) => {
    // Once the last slave fd closes, reading the master fails with EIO: the
    // kernel's way of saying end of file for a pty.
    pty.on('error', () => {});
    pty.once('close', () => resolve());
  });
  return {
    drained,
    resize,
    close() {
      if (closed) return;
      closed = true;
      if (opts.input) {
        stdin.unpipe(pty);
        stdin.pause();
        stdin.off('error', inputFailed);
      }
      stdout.off('error', outputFailed);
      restore();
      process.off('exit', restore);
      pty.destroy();
    },
  };
}
