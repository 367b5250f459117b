import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's busybox-static: one static binary, so a rootfs needs nothing else. */
export const BUSYBOX = '/bin/busybox';

let applets: string[] | undefined;

/** The applets busybox-static provides ("sh", "ls", ...). */
export function busyboxApplets(): string[] {
  applets ??= execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => a && a !== 'busybox');
  return applets;
}

/**
 * Fills `dir` with a minimal root filesystem: /bin/busybox with a symlink per applet
 * in /bin, empty proc sys dev tmp, and an /etc with passwd/group/hostname.
 */
export function makeBusyboxRootfs(dir: string): string {
  if (!existsSync(BUSYBOX)) throw new Error(`testkit: ${BUSYBOX} is missing; install busybox-static`);
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'home', 'var', 'run']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const a of busyboxApplets()) {
    const link = join(dir, 'bin', a);
    if (!existsSync(link)) symlinkSync('busybox', link);
  }
  writeFileSync(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:user:/home/user:/bin/sh\n',
  );
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\nuser:x:1000:\nwheel:x:10:user\n');
  writeFileSync(join(dir, 'etc/hostname'), 'ctr\n');
  return dir;
}
