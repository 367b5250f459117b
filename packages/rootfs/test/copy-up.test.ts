import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { AT, close, FSCONFIG, fsconfig, fsmount, fsopen, lgetxattr, lsetxattr, O, openat } from '@ctr/sys';
import { makeTmp, needsCommand, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyUp } from '../src/copy-up.ts';

/** A detached tmpfs (not attached anywhere: closing the fd frees it). */
function detachedTmpfs(size = '4m'): number {
  const fs = fsopen('tmpfs');
  try {
    fsconfig(fs, FSCONFIG.SET_STRING, 'size', size);
    fsconfig(fs, FSCONFIG.CMD_CREATE);
    return fsmount(fs, 0);
  } finally {
    close(fs);
  }
}

describe.runIf(runnable('tmpcopyup into a real tmpfs', needsRoot(), needsCommand('mkfifo', 'coreutils')))(
  'copyUp',
  () => {
    const dir = makeTmp('ctr-copyup-');
    const src = join(dir, 'src');
    const fds: number[] = [];
    const open = (path: string) => {
      const fd = openat(AT.FDCWD, path, O.PATH | O.DIRECTORY);
      fds.push(fd);
      return fd;
    };
    const tmpfs = (size?: string) => {
      const fd = detachedTmpfs(size);
      fds.push(fd);
      return fd;
    };
    afterEach(() => {
      for (const fd of fds.splice(0)) close(fd);
    });
    afterAll(() => removeTmp(dir));
    beforeAll(() => {
      mkdirSync(join(src, 'dir/deeper'), { recursive: true });
      chmodSync(src, 0o1777);
      chownSync(src, 7, 8);
      writeFileSync(join(src, 'file'), 'data\n', { mode: 0o640 });
      chownSync(join(src, 'file'), 1000, 1001);
      utimesSync(join(src, 'file'), 1e9, 1e9);
      linkSync(join(src, 'file'), join(src, 'dir/hard'));
      lsetxattr(join(src, 'file'), 'user.ctr', Buffer.from('kept'));
      lsetxattr(join(src, 'file'), 'trusted.ctr', Buffer.from('kept too'));
      writeFileSync(join(src, 'suid'), '#!/bin/sh\n');
      chownSync(join(src, 'suid'), 1000, 1000);
      chmodSync(join(src, 'suid'), 0o4755);
      symlinkSync('/etc/shadow', join(src, 'escape'));
      symlinkSync('../file', join(src, 'dir/up'));
      writeFileSync(join(src, 'dir/deeper/big'), Buffer.alloc(300 * 1024, 7));
      chmodSync(join(src, 'dir'), 0o750);
      chownSync(join(src, 'dir'), 1234, 1234);
      expect(spawnSync('mkfifo', ['-m', '0620', join(src, 'fifo')]).status).toBe(0);
    });

    it('copies types, modes, owners, mtimes, hard links, symlinks and xattrs', () => {
      const tree = tmpfs();
      copyUp('/etc', open(src), tree, { mode: true, uid: true, gid: true });
      const at = (p = '') => `/proc/self/fd/${tree}${p ? `/${p}` : ''}`;
      expect(readdirSync(at()).sort()).toEqual(['dir', 'escape', 'fifo', 'file', 'suid']);
      const root = statSync(at());
      expect([root.mode & 0o7777, root.uid, root.gid]).toEqual([0o1777, 7, 8]);
      const file = statSync(at('file'));
      expect([file.mode & 0o7777, file.uid, file.gid, file.nlink, file.mtimeMs]).toEqual([
        0o640, 1000, 1001, 2, 1e12,
      ]);
      expect(statSync(at('dir/hard')).ino).toBe(file.ino);
      expect(readFileSync(at('file'), 'utf8')).toBe('data\n');
      expect(lgetxattr(at('file'), 'user.ctr').toString()).toBe('kept');
      expect(lgetxattr(at('file'), 'trusted.ctr').toString()).toBe('kept too');
      expect(statSync(at('suid')).mode & 0o7777).toBe(0o4755);
      // Symlinks are copied, never followed: the host's /etc/shadow is not read.
      expect(readlinkSync(at('escape'))).toBe('/etc/shadow');
      expect(lstatSync(at('escape')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(at('dir/up'))).toBe('../file');
      const d = statSync(at('dir'));
      expect([d.mode & 0o7777, d.uid, d.gid]).toEqual([0o750, 1234, 1234]);
      expect(readFileSync(at('dir/deeper/big')).equals(Buffer.alloc(300 * 1024, 7))).toBe(true);
      const fifo = lstatSync(at('fifo'));
      expect([fifo.isFIFO(), fifo.mode & 0o7777]).toEqual([true, 0o620]);
    });

    it('leaves the tmpfs root as its options made it when they set mode, uid or gid', () => {
      const tree = tmpfs();
      copyUp('/etc', open(src), tree, { mode: false, uid: false, gid: true });
      const root = statSync(`/proc/self/fd/${tree}`);
      expect([root.mode & 0o7777, root.uid, root.gid]).toEqual([0o1777, 0, 8]);
    });

    it('refuses a source on a kernel pseudo-filesystem', () => {
      const tree = tmpfs();
      expect(() => copyUp('/etc', open('/proc/self'), tree, { mode: true, uid: true, gid: true })).toThrow(
        /^rootfs: copy \/etc into its tmpfs \(tmpcopyup\) — the destination resolves to a proc filesystem/,
      );
      expect(readdirSync(`/proc/self/fd/${tree}`)).toEqual([]);
    });

    it('fails with the errno when the content does not fit, and refuses a destination that is a file', () => {
      const all = { mode: true, uid: true, gid: true };
      expect(() => copyUp('/etc', open(src), tmpfs('64k'), all)).toThrow(
        /^sys: write \/etc\/dir\/deeper\/big: ENOSPC/,
      );
      const file = openat(AT.FDCWD, join(src, 'file'), O.PATH);
      fds.push(file);
      expect(() => copyUp('/etc', file, tmpfs(), all)).toThrow(
        /the destination is not a directory in the image/,
      );
    });
  },
);
