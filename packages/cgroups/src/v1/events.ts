// cgroup v1 OOM notification: an eventfd registered on memory.oom_control through
// cgroup.event_control (Documentation/admin-guide/cgroup-v1/memory.rst, section 9).
// The kernel also signals the eventfd when the cgroup is removed, so a watcher
// tells the two apart by whether the directory still exists.
import { closeSync, constants, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { EFD, eventfd } from '@ctr/sys';
import type { CgroupEvent, EventWatch } from '../cgroup.ts';
import { codeOf, fileError, parseKeyValues, readOptional, writeFile } from '../files.ts';

/** How often the non-blocking eventfd is read: a blocking read would pin a libuv pool thread forever. */
const POLL_MS = 50;

export function watchOomV1(memDir: string, listener: (event: CgroupEvent) => void): EventWatch {
  const efd = eventfd(0, EFD.NONBLOCK);
  let ofd: number;
  try {
    ofd = openSync(join(memDir, 'memory.oom_control'), constants.O_RDONLY);
  } catch (e) {
    closeSync(efd);
    throw fileError('open memory.oom_control', join(memDir, 'memory.oom_control'), e);
  }
  const close = (): void => {
    clearInterval(timer);
    closeSync(efd);
    closeSync(ofd);
  };
  try {
    writeFile(memDir, 'cgroup.event_control', `${efd} ${ofd}`);
  } catch (e) {
    closeSync(efd);
    closeSync(ofd);
    throw e;
  }
  const buf = Buffer.alloc(8);
  let closed = false;
  const timer = setInterval(() => {
    try {
      readSync(efd, buf, 0, 8, null);
    } catch (e) {
      if (codeOf(e) === 'EAGAIN') return;
      throw e;
    }
    if (!existsSync(memDir)) {
      closed = true;
      close();
      return;
    }
    const oom = parseKeyValues(readOptional(memDir, 'memory.oom_control'));
    listener({ type: 'oom', oomKills: oom.oom_kill ?? 0 });
  }, POLL_MS);
  return {
    close(): void {
      if (closed) return;
      closed = true;
      close();
    },
  };
}
