// Pseudo-terminals for process.terminal: the init opens the pty inside the
// container's own devpts, keeps the slave as its controlling terminal and stdio, and
// hands the master out over --console-socket.
import { check, libc } from './libc.ts';

const _ioctlInt = libc.func('int ioctl(int fd, unsigned long request, int arg)');
const _ioctlBuf = libc.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)');
const _unlockpt = libc.func('int unlockpt(int fd)');
const _tcgetattr = libc.func('int tcgetattr(int fd, _Inout_ uint8_t *termios)');
const _tcsetattr = libc.func('int tcsetattr(int fd, int when, uint8_t *termios)');
const _cfmakeraw = libc.func('void cfmakeraw(_Inout_ uint8_t *termios)');

const TIOCSCTTY = 0x540e;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const TIOCGPTN = 0x80045430;
const TIOCGPTPEER = 0x5441;
const O_RDWR = 2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;
const TCSANOW = 0;
// glibc's struct termios is 60 bytes on Linux; the rest is slack.
const TERMIOS_SIZE = 64;

/** Unlocks the slave of a pty master so it can be opened (unlockpt(3)). */
export function unlockPty(master: number): void {
  check('unlockpt', _unlockpt(master));
}

/** The number N of a master's slave /dev/pts/N (ioctl TIOCGPTN). */
export function ptyNumber(master: number): number {
  const b = Buffer.alloc(4);
  check('ioctl TIOCGPTN', _ioctlBuf(master, TIOCGPTN, b));
  return b.readUInt32LE(0);
}

/**
 * Opens the slave of a pty master through the master itself (ioctl TIOCGPTPEER), so
 * no path in a container-controlled /dev can redirect it. Close-on-exec, no ctty.
 */
export function openPtyPeer(master: number): number {
  return check(
    'ioctl TIOCGPTPEER',
    _ioctlInt(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC),
    undefined,
    'the kernel is older than 4.13 or the master is not a pty',
  );
}

/** Makes `fd` (a terminal) the controlling terminal of the caller's session (ioctl TIOCSCTTY). */
export function setControllingTerminal(fd: number): void {
  check(
    'ioctl TIOCSCTTY',
    _ioctlInt(fd, TIOCSCTTY, 0),
    undefined,
    'the caller must be a session leader without a terminal',
  );
}

export interface WindowSize {
  rows: number;
  cols: number;
}

/** Sets a terminal's window size (ioctl TIOCSWINSZ); the foreground group gets SIGWINCH. */
export function setWindowSize(fd: number, size: WindowSize): void {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(size.rows, 0);
  b.writeUInt16LE(size.cols, 2);
  check('ioctl TIOCSWINSZ', _ioctlBuf(fd, TIOCSWINSZ, b));
}

/** Reads a terminal's window size (ioctl TIOCGWINSZ). */
export function getWindowSize(fd: number): WindowSize {
  const b = Buffer.alloc(8);
  check('ioctl TIOCGWINSZ', _ioctlBuf(fd, TIOCGWINSZ, b), undefined, 'not a terminal');
  return { rows: b.readUInt16LE(0), cols: b.readUInt16LE(2) };
}

/** A terminal's settings as tcgetattr(3) read them: opaque, for setTerminalMode. */
export interface TerminalMode {
  readonly termios: Buffer;
}

/** Reads a terminal's settings (tcgetattr(3)). */
export function getTerminalMode(fd: number): TerminalMode {
  const termios = Buffer.alloc(TERMIOS_SIZE);
  check('tcgetattr', _tcgetattr(fd, termios), undefined, 'not a terminal');
  return { termios };
}

/** Changes a terminal's settings now (tcsetattr(3) TCSANOW); it affects every process on it. */
export function setTerminalMode(fd: number, mode: TerminalMode): void {
  check('tcsetattr', _tcsetattr(fd, TCSANOW, mode.termios), undefined, 'not a terminal');
}

/**
 * `mode` made raw as cfmakeraw(3) does (no echo, no line editing, no signals from
 * keys, no output processing): the settings runc puts its own terminal in while it
 * relays a container's.
 */
export function rawTerminalMode(mode: TerminalMode): TerminalMode {
  const termios = Buffer.from(mode.termios);
  _cfmakeraw(termios);
  return { termios };
}
