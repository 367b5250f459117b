import { readFileSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import {
  AT,
  CtrError,
  chroot,
  close,
  FS_MAGIC,
  FSCONFIG,
  fchdir,
  fchmodat,
  fchownat,
  fsconfig,
  fsmount,
  fsopen,
  fstatfsType,
  MNT,
  MOUNT_ATTR,
  MOVE_MOUNT,
  MS,
  mknodat,
  mount,
  mountSetattr,
  moveMount,
  O,
  OPEN_TREE,
  openat,
  openTree,
  pivotRoot,
  RESOLVE,
  readlinkat,
  S,
  SysError,
  stageError,
  statx,
  symlinkat,
  umount2,
  unlinkat,
} from '@ctr/sys';
import { copyUp } from './copy-up.ts';
import { type ParsedOptions, parseMountOptions } from './options.ts';
import type { RootfsOp, RootfsPlan } from './plan.ts';
import { createInRoot, openInRoot } from './resolve.ts';

export interface ApplyRootfsOptions {
  /**
   * Called after a mount destination has been resolved to an fd inside the root and
   * before anything is copied into (tmpcopyup) or mounted on it: for audit logs, and
   * for tests that change the tree at exactly that moment.
   */
  onResolved?: ((destination: string) => void) | undefined;
  /** The pty slave of the container's terminal, for a plan with a `console` op. */
  consoleFd?: number | undefined;
}

interface State {
  rootPath: string;
  /** O_PATH fd of the container's root: the bound root before pivot, "/" after. */
  rootfd: number;
  opts: ApplyRootfsOptions;
}

/**
 * Builds the container's root filesystem and makes it the root of the calling
 * process, running the plan's operations in order. Call it inside the container's
 * new mount namespace (the init does, on its main thread); it changes the mount table
 * of that namespace and the root and cwd of the caller's fs context.
 */
export function applyRootfs(plan: RootfsPlan, opts: ApplyRootfsOptions = {}): void {
  const st: State = { rootPath: plan.root, rootfd: -1, opts };
  try {
    for (const op of plan.ops) {
      try {
        run(st, op);
      } catch (e) {
        if (e instanceof CtrError && e.stage === 'rootfs') throw e;
        throw stageError({
          stage: 'rootfs',
          op: describe(op),
          path: pathOf(op),
          cause: e,
          hint: hintFor(op, e),
        });
      }
    }
  } finally {
    if (st.rootfd >= 0) close(st.rootfd);
  }
}

function describe(op: RootfsOp): string {
  switch (op.op) {
    case 'propagation':
      return `make / ${op.name}`;
    case 'bindRoot':
      return `bind the root ${op.path}`;
    case 'mount':
      return op.kind === 'bind'
        ? `bind ${op.source} on ${op.destination}`
        : `mount ${op.fstype} on ${op.destination}${op.options.copyUp ? ' (tmpcopyup)' : ''}`;
    case 'setattr':
      return `change the attributes of ${op.destination}`;
    case 'mknod':
      return `mknod ${op.path}`;
    case 'bindDevice':
      return `bind the host device ${op.path}`;
    case 'symlink':
      return `symlink ${op.path} -> ${op.target}`;
    case 'console':
      return 'bind the terminal on /dev/console';
    case 'pivotRoot':
      return 'pivot_root into the container root';
    case 'moveRoot':
      return 'move the container root onto / and chroot';
    case 'sysctl':
      return `sysctl ${op.key}=${op.value}`;
    case 'readonlyPath':
      return `make ${op.path} read-only`;
    case 'maskPath':
      return `mask ${op.path}`;
    case 'readonlyRoot':
      return 'make the root read-only';
  }
}

function pathOf(op: RootfsOp): string | undefined {
  if ('destination' in op) return op.destination;
  if ('path' in op) return op.path;
  return undefined;
}

function hintFor(op: RootfsOp, e: unknown): string | undefined {
  const code = e instanceof CtrError ? e.code : undefined;
  if (op.op === 'mount' && op.options.copyUp && code === 'ENOSPC') {
    return `what the image has at ${op.destination} does not fit in the tmpfs; raise its size= option`;
  }
  if (op.op === 'mount' && op.kind === 'fs' && code === 'EINVAL') {
    return `the kernel refused the ${op.fstype} options [${op.options.data.join(',')}]`;
  }
  if (op.op === 'mknod' && code === 'EPERM')
    return 'mknod needs CAP_MKNOD in the initial user namespace; in a user namespace devices are bound from the host';
  if (op.op === 'bindRoot' && code === 'EACCES')
    return 'in a user namespace the host uid mapped to the container root must be able to search every directory above the rootfs (chmod o+x, or chown the bundle to that uid)';
  if (op.op === 'pivotRoot' && code === 'EINVAL')
    return 'pivot_root does not work on a ramfs/initramfs root; use --no-pivot';
  return undefined;
}

function run(st: State, op: RootfsOp): void {
  switch (op.op) {
    case 'propagation':
      mount(null, '/', null, op.type | (op.recursive ? MS.REC : 0));
      return;
    case 'bindRoot':
      bindRoot(st, op.path);
      return;
    case 'mount':
      if (op.kind === 'bind') bindMount(st, op.destination, op.source, op.options);
      else fsMount(st, op.destination, op.fstype, op.source, op.options);
      return;
    case 'setattr': {
      const fd = openInRoot(st.rootfd, op.destination);
      try {
        mountSetattr(fd, '', AT.EMPTY_PATH, { attrSet: op.attrSet, attrClr: op.attrClr });
      } finally {
        close(fd);
      }
      return;
    }
    case 'mknod':
      withParent(st, op.path, (parent, name) => {
        removeNonDir(parent, name);
        const type = op.type === 'b' ? S.IFBLK : op.type === 'p' ? S.IFIFO : S.IFCHR;
        mknodat(parent, name, type | op.mode, op.major, op.minor);
        fchownat(parent, name, op.uid, op.gid, AT.SYMLINK_NOFOLLOW);
        // mknod applies the umask; the spec's fileMode is the mode the node must have.
        fchmodat(parent, name, op.mode);
      });
      return;
    case 'bindDevice':
      bindDevice(st, op.path);
      return;
    case 'symlink':
      withParent(st, op.path, (parent, name) => {
        try {
          symlinkat(op.target, parent, name);
        } catch (e) {
          if (!(e instanceof SysError && e.code === 'EEXIST')) throw e;
          const cur = statx(parent, name);
          if (cur.type === S.IFLNK && readlinkat(parent, name) === op.target) return;
          if (cur.type === S.IFDIR) throw e;
          unlinkat(parent, name);
          symlinkat(op.target, parent, name);
        }
      });
      return;
    case 'console':
      bindConsole(st);
      return;
    case 'pivotRoot':
      fchdir(st.rootfd);
      // pivot_root(".", ".") stacks the old root on the new one; it is then detached,
      // after making it a slave so the detach does not propagate to the host.
      pivotRoot('.', '.');
      mount(null, '.', null, MS.SLAVE | MS.REC);
      umount2('.', MNT.DETACH);
      reopenRoot(st);
      return;
    case 'moveRoot':
      fchdir(st.rootfd);
      mount('.', '/', null, MS.MOVE);
      chroot('.');
      reopenRoot(st);
      return;
    case 'sysctl':
      writeSysctl(st, op.path, op.value);
      return;
    case 'readonlyPath':
      readonlyPath(st, op.path);
      return;
    case 'maskPath':
      maskPath(st, op.path);
      return;
    case 'readonlyRoot':
      mountSetattr(AT.FDCWD, '/', 0, { attrSet: MOUNT_ATTR.RDONLY });
      return;
  }
}

function reopenRoot(st: State): void {
  close(st.rootfd);
  st.rootfd = openat(AT.FDCWD, '/', O.PATH | O.DIRECTORY);
  fchdir(st.rootfd);
}

function bindRoot(st: State, root: string): void {
  // pivot_root refuses a new root whose parent mount is shared: make it private
  // (only in this mount namespace).
  const parent = mountPointOf(root);
  mount(null, parent, null, MS.PRIVATE);
  mount(root, root, null, MS.BIND | MS.REC);
  st.rootfd = openat(AT.FDCWD, root, O.PATH | O.DIRECTORY);
}

/** The mount point of the mount that holds `path` (host path, trusted). */
function mountPointOf(path: string): string {
  const fd = openat(AT.FDCWD, path, O.PATH);
  let id: bigint;
  try {
    id = statx(fd, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW).mountId;
  } finally {
    close(fd);
  }
  for (const line of readFileSync('/proc/thread-self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[0] === String(id) && f[4])
      return f[4].replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  }
  throw new CtrError({
    stage: 'rootfs',
    op: 'find the mount of the root',
    path,
    hint: `mount ${id} is not in /proc/thread-self/mountinfo`,
  });
}

/**
 * Attaches a detached mount `tree` on `destination` inside the root, creating it as
 * `kind`; `fill` runs with the resolved destination before the mount covers it.
 */
function attach(
  st: State,
  tree: number,
  destination: string,
  kind: 'dir' | 'file',
  o: ParsedOptions,
  fill?: (target: number) => void,
): void {
  if (o.recAttrSet || o.recAttrClr) {
    mountSetattr(tree, '', AT.EMPTY_PATH | AT.RECURSIVE, { attrSet: o.recAttrSet, attrClr: o.recAttrClr });
  }
  if (o.attrSet || o.attrClr)
    mountSetattr(tree, '', AT.EMPTY_PATH, { attrSet: o.attrSet, attrClr: o.attrClr });
  const target = createInRoot(st.rootfd, destination, kind);
  try {
    st.opts.onResolved?.(destination);
    fill?.(target);
    moveMount(tree, '', target, '', MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.T_EMPTY_PATH);
  } finally {
    close(target);
  }
  for (const p of o.propagation) {
    mountSetattr(tree, '', AT.EMPTY_PATH | (p.recursive ? AT.RECURSIVE : 0), { propagation: p.type });
  }
}

function bindMount(st: State, destination: string, source: string, o: ParsedOptions): void {
  const tree = openTree(AT.FDCWD, source, OPEN_TREE.CLONE | (o.recursive ? AT.RECURSIVE : 0));
  try {
    const kind = statx(tree, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW).type === S.IFDIR ? 'dir' : 'file';
    attach(st, tree, destination, kind, o);
  } finally {
    close(tree);
  }
}

function fsMount(
  st: State,
  destination: string,
  fstype: string,
  source: string | undefined,
  o: ParsedOptions,
): void {
  // Nothing to copy where the image has nothing; the tmpfs root then keeps its own mode
  // (1777 by default), as runc leaves it.
  const existing = o.copyUp ? openOptional(st, destination) : undefined;
  if (existing !== undefined) close(existing);
  const copy = existing !== undefined;
  const fs = fsopen(fstype);
  let tree: number;
  try {
    if (source) fsconfig(fs, FSCONFIG.SET_STRING, 'source', source);
    for (const d of o.data) {
      const eq = d.indexOf('=');
      if (eq < 0) fsconfig(fs, FSCONFIG.SET_FLAG, d);
      else fsconfig(fs, FSCONFIG.SET_STRING, d.slice(0, eq), d.slice(eq + 1));
    }
    fsconfig(fs, FSCONFIG.CMD_CREATE);
    // A tmpcopyup tmpfs is filled while it is still detached, so it is made read-only only after.
    tree = fsmount(fs, copy ? o.attrSet & ~MOUNT_ATTR.RDONLY : o.attrSet);
  } finally {
    close(fs);
  }
  const fill = copy
    ? (target: number) => {
        const given = (key: string) => o.data.some((d) => d.startsWith(`${key}=`));
        copyUp(destination, target, tree, { mode: !given('mode'), uid: !given('uid'), gid: !given('gid') });
        if (o.attrSet & MOUNT_ATTR.RDONLY)
          mountSetattr(tree, '', AT.EMPTY_PATH, { attrSet: MOUNT_ATTR.RDONLY });
      }
    : undefined;
  try {
    attach(st, tree, destination, 'dir', { ...o, attrSet: 0, attrClr: 0 }, fill);
  } finally {
    close(tree);
  }
}

function withParent(st: State, path: string, f: (parent: number, name: string) => void): void {
  const parent = createInRoot(st.rootfd, posix.dirname(path), 'dir');
  try {
    f(parent, posix.basename(path));
  } finally {
    close(parent);
  }
}

function removeNonDir(parent: number, name: string): void {
  try {
    unlinkat(parent, name);
  } catch (e) {
    if (!(e instanceof SysError && e.code === 'ENOENT')) throw e;
  }
}

/**
 * Binds the terminal onto /dev/console from its fd, never from a path: a path could be
 * swapped by the container between check and mount (runc CVE-2025-52565).
 */
function bindConsole(st: State): void {
  const fd = st.opts.consoleFd;
  if (fd === undefined) {
    throw new CtrError({
      stage: 'rootfs',
      op: 'bind the terminal on /dev/console',
      hint: 'process.terminal is set: pass the pty slave fd as consoleFd to applyRootfs',
    });
  }
  const tree = openTree(fd, '', OPEN_TREE.CLONE | AT.EMPTY_PATH);
  try {
    if (statx(tree, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW).type !== S.IFCHR) {
      throw new CtrError({
        stage: 'rootfs',
        op: 'bind the terminal on /dev/console',
        hint: 'consoleFd is not a character device',
      });
    }
    attach(st, tree, '/dev/console', 'file', NO_OPTIONS);
  } finally {
    close(tree);
  }
}

// A plain bind: what an empty option list parses to, as a bind.
const NO_OPTIONS: ParsedOptions = { ...parseMountOptions([], 'a bind'), bind: true };

function bindDevice(st: State, path: string): void {
  const tree = openTree(AT.FDCWD, path, OPEN_TREE.CLONE);
  try {
    const type = statx(tree, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW).type;
    if (type !== S.IFCHR && type !== S.IFBLK) {
      throw new CtrError({
        stage: 'rootfs',
        op: `bind the host device ${path}`,
        path,
        hint: 'the host path is not a device node',
      });
    }
    attach(st, tree, path, 'file', NO_OPTIONS);
  } finally {
    close(tree);
  }
}

const CONFINED = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS | RESOLVE.NO_SYMLINKS;

function writeSysctl(st: State, path: string, value: string): void {
  const fd = openInRoot(st.rootfd, path, O.WRONLY, CONFINED);
  try {
    // A container-made /proc (a tmpfs with files in it) must not take the write.
    if (fstatfsType(fd) !== FS_MAGIC.PROC) {
      throw new CtrError({
        stage: 'rootfs',
        op: `write /${path}`,
        hint: '/proc in the container is not procfs',
      });
    }
    writeSync(fd, value);
  } finally {
    close(fd);
  }
}

/** Opens a path for masking or read-only binding; undefined when it does not exist (the spec allows that). */
function openOptional(st: State, path: string): number | undefined {
  try {
    return openInRoot(st.rootfd, path);
  } catch (e) {
    if (e instanceof SysError && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

function readonlyPath(st: State, path: string): void {
  const fd = openOptional(st, path);
  if (fd === undefined) return;
  try {
    const tree = openTree(fd, '', OPEN_TREE.CLONE | AT.RECURSIVE | AT.EMPTY_PATH);
    try {
      mountSetattr(tree, '', AT.EMPTY_PATH | AT.RECURSIVE, { attrSet: MOUNT_ATTR.RDONLY });
      moveMount(tree, '', fd, '', MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.T_EMPTY_PATH);
    } finally {
      close(tree);
    }
  } finally {
    close(fd);
  }
}

/**
 * The container's /dev/null, verified to be the real character device 1:3 before it
 * is bound over anything: a container that swaps it for a symlink or another file
 * could otherwise make a masked path writable (runc CVE-2025-31133).
 */
function verifiedDevNull(st: State): number {
  const fd = openInRoot(st.rootfd, '/dev/null', O.PATH, CONFINED);
  const s = statx(fd, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW);
  if (s.type !== S.IFCHR || s.rdevMajor !== 1 || s.rdevMinor !== 3) {
    close(fd);
    throw new CtrError({
      stage: 'rootfs',
      op: 'verify /dev/null',
      path: '/dev/null',
      hint: 'the container /dev/null is not the character device 1:3; refusing to mask paths with it',
    });
  }
  return fd;
}

function maskPath(st: State, path: string): void {
  const fd = openOptional(st, path);
  if (fd === undefined) return;
  try {
    let tree: number;
    if (statx(fd, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW).type === S.IFDIR) {
      const fs = fsopen('tmpfs');
      try {
        fsconfig(fs, FSCONFIG.SET_STRING, 'size', '0');
        fsconfig(fs, FSCONFIG.CMD_CREATE);
        tree = fsmount(fs, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC);
      } finally {
        close(fs);
      }
    } else {
      const devnull = verifiedDevNull(st);
      try {
        tree = openTree(devnull, '', OPEN_TREE.CLONE | AT.EMPTY_PATH);
      } finally {
        close(devnull);
      }
    }
    try {
      moveMount(tree, '', fd, '', MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.T_EMPTY_PATH);
    } finally {
      close(tree);
    }
  } finally {
    close(fd);
  }
}
