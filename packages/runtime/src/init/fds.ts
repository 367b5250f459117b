import { CLOSE_RANGE, closeRange, setCloseOnExec, setNonBlocking } from '@ctr/sys';

/**
 * Leaves exactly stdio and the preserved fds open across execve. Node marks 0, 1 and
 * 2 close-on-exec and puts pipes in non-blocking mode (the mode lives in the open
 * file description, shared with whoever handed us the pipe), so both are undone;
 * every other fd, including the sync pipe and the exec fifo, is closed by the
 * kernel at execve (CVE-2024-21626: a leaked runtime fd is a way out of the
 * container).
 */
export function prepareFdsForExec(preserveFds: number): void {
  const keep = 3 + preserveFds;
  for (let fd = 0; fd < keep; fd++) {
    try {
      setCloseOnExec(fd, false);
      if (fd < 3) setNonBlocking(fd, false);
    } catch {
      // A closed stdio fd stays closed, as it was given to us.
    }
  }
  closeRange(keep, 0xffffffff, CLOSE_RANGE.CLOEXEC);
}
