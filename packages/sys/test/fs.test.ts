import { closeSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, removeTmp } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AT,
  close,
  FS_MAGIC,
  fstatfsFlags,
  fstatfsType,
  lgetxattr,
  llistxattr,
  lsetxattr,
  mkdirat,
  mknodat,
  O,
  openat,
  openat2,
  procFdPath,
  RESOLVE,
  readlinkat,
  renameat2,
  S,
  ST,
  SYNC_FILE_RANGE,
  SysError,
  statx,
  symlinkat,
  syncFileRange,
  unlinkat,
  utimensat,
} from '../src/index.ts';

const dir = makeTmp();
afterAll(() => removeTmp(dir));

describe('fd-relative files', () => {
  it('openat2 RESOLVE_IN_ROOT keeps an absolute symlink inside the root', () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), 'inside\n');
    symlinkSync('/etc/passwd', join(root, 'escape'));
    const rootfd = openat(AT.FDCWD, root, O.PATH | O.DIRECTORY);
    const fd = openat2(rootfd, 'escape', {
      flags: O.RDONLY,
      resolve: RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS,
    });
    expect(readFileSync(fd, 'utf8')).toBe('inside\n');
    closeSync(fd);
    const err = (() => {
      try {
        openat2(rootfd, 'escape', { flags: O.RDONLY, resolve: RESOLVE.BENEATH });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).code).toBe('EXDEV');
    expect((err as SysError).message).toMatch(/^sys: openat2 escape: EXDEV — /);
    close(rootfd);
  });

  it('creates, stats, renames and removes entries relative to a dirfd', () => {
    const dfd = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    mkdirat(dfd, 'sub', 0o750);
    expect(statx(dfd, 'sub').type).toBe(S.IFDIR);
    symlinkat('target', dfd, 'sub/link');
    expect(readlinkat(dfd, 'sub/link')).toBe('target');
    mknodat(dfd, 'sub/fifo', S.IFIFO | 0o600);
    mknodat(dfd, 'sub/null', S.IFCHR | 0o666, 1, 3);
    const st = statx(dfd, 'sub/null');
    expect([st.type, st.rdevMajor, st.rdevMinor]).toEqual([S.IFCHR, 1, 3]);
    renameat2(dfd, 'sub/fifo', dfd, 'sub/fifo2');
    expect(statx(dfd, 'sub/fifo2').type).toBe(S.IFIFO);
    utimensat(dfd, 'sub/fifo2', { sec: 1n, nsec: 5 }, { sec: 1700000000n, nsec: 123456789 });
    expect(statx(dfd, 'sub/fifo2').mtime).toEqual({ sec: 1700000000n, nsec: 123456789 });
    unlinkat(dfd, 'sub/fifo2');
    expect(() => statx(dfd, 'sub/fifo2')).toThrow(/ENOENT/);
    expect(() => unlinkat(dfd, 'sub')).toThrow(SysError);
    close(dfd);
  });

  it('sets and reads extended attributes', () => {
    const f = join(dir, 'x');
    writeFileSync(f, '');
    lsetxattr(f, 'user.ctr', Buffer.from('v1'));
    expect(lgetxattr(f, 'user.ctr').toString()).toBe('v1');
    expect(llistxattr(f)).toContain('user.ctr');
    expect(() => lgetxattr(f, 'user.none')).toThrow(/ENODATA/);
  });

  it('recognises procfs and refuses anything else for /proc/self/fd', () => {
    const p = openat(AT.FDCWD, '/proc', O.PATH | O.DIRECTORY);
    expect(fstatfsType(p)).toBe(FS_MAGIC.PROC);
    // The mount flags agree with what mountinfo says of /proc.
    const procLine = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === '/proc');
    const options = procLine!.split(' ')[5]!.split(',');
    const flags = fstatfsFlags(p);
    expect((flags & ST.NOSUID) !== 0).toBe(options.includes('nosuid'));
    expect((flags & ST.RDONLY) !== 0).toBe(options.includes('ro'));
    expect(procFdPath(7, p)).toBe('/proc/self/fd/7');
    const t = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    expect(() => procFdPath(7, t)).toThrow(/not procfs/);
    close(p);
    close(t);
  });

  it('starts and waits for writeback of a range; a bad fd is a typed error', () => {
    const f = join(dir, 'writeback');
    writeFileSync(f, Buffer.alloc(1 << 20, 7));
    const fd = openat(AT.FDCWD, f, O.RDWR);
    syncFileRange(fd, 0, 1 << 20, SYNC_FILE_RANGE.WRITE);
    syncFileRange(
      fd,
      0,
      1 << 20,
      SYNC_FILE_RANGE.WAIT_BEFORE | SYNC_FILE_RANGE.WRITE | SYNC_FILE_RANGE.WAIT_AFTER,
    );
    close(fd);
    expect(() => syncFileRange(fd, 0, 0, SYNC_FILE_RANGE.WRITE)).toThrow(SysError);
  });
});
