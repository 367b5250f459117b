import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AT,
  CLONE,
  close,
  FSCONFIG,
  fsconfig,
  fsmount,
  fsopen,
  fspick,
  MNT,
  MOUNT_ATTR,
  MOVE_MOUNT,
  MS,
  mount,
  mountSetattr,
  moveMount,
  O,
  OPEN_TREE,
  openat,
  openTree,
  pivotRoot,
  umount2,
  unshare,
} from '../src/index.ts';
import { thrown } from './thrown.ts';

const dir = makeTmp();
afterAll(() => removeTmp(dir));

/** The mountinfo line of the mount at `path` (the last one stacked there). */
function mountLine(path: string): string | undefined {
  return readFileSync('/proc/thread-self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === path)
    .at(-1);
}

describe.runIf(runnable('mounts in a private mount namespace', needsRoot()))('mount', () => {
  // The test thread gets its own mount namespace (vitest runs each file in its own
  // process) so nothing mounted here is visible to the host.
  const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
  beforeAll(() => {
    unshare(CLONE.NEWNS | CLONE.FS);
    mount(null, '/', null, MS.REC | MS.PRIVATE);
  });
  afterAll(() => {
    expect(hostMounts).not.toMatch(dir);
  });

  it('mounts and unmounts a tmpfs with flags and data', () => {
    const t = join(dir, 'classic');
    mkdirSync(t);
    mount('tmpfs', t, 'tmpfs', MS.NOSUID | MS.NODEV, 'size=1m,mode=700');
    expect(mountLine(t)).toMatch(/ rw,nosuid,nodev,relatime .* tmpfs tmpfs rw,size=1024k,mode=700/);
    mount(null, t, null, MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV);
    expect(mountLine(t)).toMatch(/ ro,nosuid,nodev,/);
    umount2(t, MNT.DETACH);
    expect(mountLine(t)).toBeUndefined();
    expect(thrown(() => umount2(t)).code).toBe('EINVAL');
    expect(thrown(() => mount('x', t, 'no-such-fs', 0)).code).toBe('ENODEV');
    expect(thrown(() => mount('x', join(dir, 'missing'), 'tmpfs', 0)).code).toBe('ENOENT');
  });

  it('builds a detached tmpfs with fsopen/fsconfig/fsmount and attaches it to an fd', () => {
    const t = join(dir, 'newapi');
    mkdirSync(t);
    const fs = fsopen('tmpfs');
    fsconfig(fs, FSCONFIG.SET_STRING, 'size', '2m');
    fsconfig(fs, FSCONFIG.SET_STRING, 'mode', '0711');
    expect(thrown(() => fsconfig(fs, FSCONFIG.SET_STRING, 'bogus', '1')).message).toMatch(
      /rejected the option bogus=1/,
    );
    fsconfig(fs, FSCONFIG.CMD_CREATE);
    const mnt = fsmount(fs, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOATIME);
    close(fs);
    const target = openat(AT.FDCWD, t, O.PATH | O.DIRECTORY);
    moveMount(mnt, '', target, '', MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.T_EMPTY_PATH);
    close(mnt);
    close(target);
    expect(mountLine(t)).toMatch(/ ro,noexec,noatime - tmpfs none rw,size=2048k,mode=711$/);

    const pick = fspick(AT.FDCWD, t, 0);
    fsconfig(pick, FSCONFIG.SET_STRING, 'size', '4m');
    fsconfig(pick, FSCONFIG.CMD_RECONFIGURE);
    close(pick);
    expect(mountLine(t)).toMatch(/size=4096k/);
    umount2(t);
    expect(thrown(() => fsopen('no-such-fs')).code).toBe('ENODEV');
    expect(thrown(() => fspick(AT.FDCWD, join(dir, 'missing'), 0)).code).toBe('ENOENT');
  });

  it('clones a tree with open_tree, changes its attributes and moves it', () => {
    const src = join(dir, 'src');
    const dst = join(dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    writeFileSync(join(src, 'f'), 'x');
    const tree = openTree(AT.FDCWD, src, OPEN_TREE.CLONE | AT.RECURSIVE);
    mountSetattr(tree, '', AT.EMPTY_PATH | AT.RECURSIVE, {
      attrSet: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID,
      propagation: MS.PRIVATE,
    });
    moveMount(tree, '', AT.FDCWD, dst, MOVE_MOUNT.F_EMPTY_PATH);
    close(tree);
    expect(mountLine(dst)).toMatch(/ ro,nosuid,/);
    expect(readFileSync(join(dst, 'f'), 'utf8')).toBe('x');
    expect(thrown(() => writeFileSync(join(dst, 'g'), '')).message).toMatch(/EROFS/);
    mountSetattr(AT.FDCWD, dst, 0, { attrClr: MOUNT_ATTR.RDONLY });
    expect(mountLine(dst)).toMatch(/ rw,nosuid,/);
    umount2(dst);
    expect(thrown(() => mountSetattr(AT.FDCWD, dst, 0, { attrSet: 1 << 30 })).code).toBe('EINVAL');
    expect(thrown(() => openTree(AT.FDCWD, join(dir, 'missing'), OPEN_TREE.CLONE)).code).toBe('ENOENT');
    expect(thrown(() => moveMount(AT.FDCWD, src, AT.FDCWD, join(dir, 'missing'), 0)).code).toBe('ENOENT');
  });

  it('pivots the root of a fresh process and refuses a directory that is no mount', () => {
    // pivot_root changes the root of the whole fs context, so it runs in a child.
    const script = `
      import { readdirSync, mkdirSync } from 'node:fs';
      import * as s from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
      s.unshare(s.CLONE.NEWNS | s.CLONE.FS);
      s.mount(null, '/', null, s.MS.REC | s.MS.PRIVATE);
      const root = ${JSON.stringify(join(dir, 'newroot'))};
      mkdirSync(root);
      let code = '';
      try { s.pivotRoot(root, root); } catch (e) { code = e.code; }
      s.mount('tmpfs', root, 'tmpfs', 0, null);
      mkdirSync(root + '/marker');
      process.chdir(root);
      s.pivotRoot('.', '.');
      s.umount2('.', s.MNT.DETACH);
      process.chdir('/');
      console.log(code, readdirSync('/').join(','));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    // The kernel refuses a new_root that is not a mount point (EINVAL, EBUSY on some versions).
    expect(out.trim()).toMatch(/^E(INVAL|BUSY) marker$/);
    expect(thrown(() => pivotRoot(join(dir, 'missing'), '/')).code).toBe('ENOENT');
  });
});
