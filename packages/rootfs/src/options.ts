import { CtrError, MOUNT_ATTR, MS } from '@ctr/sys';

/** Mount options of one config mount, sorted into what each part of the mount API needs. */
export interface ParsedOptions {
  bind: boolean;
  /** rbind: bind submounts too. */
  recursive: boolean;
  /** MOUNT_ATTR.* for the mount itself. */
  attrSet: number;
  attrClr: number;
  /** MOUNT_ATTR.* for the mount and every submount ("rro", "rnosuid", … of mount_setattr(2)). */
  recAttrSet: number;
  recAttrClr: number;
  /** Propagation changes in order: MS.PRIVATE/SLAVE/SHARED/UNBINDABLE, recursive or not. */
  propagation: { type: number; recursive: boolean }[];
  /** Filesystem parameters: "key=value" or a flag "key" (fsconfig(2)). */
  data: string[];
  /** tmpcopyup (runc/crun extension, tmpfs only): the new tmpfs starts with a copy of what it covers. */
  copyUp: boolean;
}

// option → [attr set, attr clear]
const ATTRS: Record<string, [number, number]> = {
  ro: [MOUNT_ATTR.RDONLY, 0],
  rw: [0, MOUNT_ATTR.RDONLY],
  nosuid: [MOUNT_ATTR.NOSUID, 0],
  suid: [0, MOUNT_ATTR.NOSUID],
  nodev: [MOUNT_ATTR.NODEV, 0],
  dev: [0, MOUNT_ATTR.NODEV],
  noexec: [MOUNT_ATTR.NOEXEC, 0],
  exec: [0, MOUNT_ATTR.NOEXEC],
  nodiratime: [MOUNT_ATTR.NODIRATIME, 0],
  diratime: [0, MOUNT_ATTR.NODIRATIME],
  nosymfollow: [MOUNT_ATTR.NOSYMFOLLOW, 0],
  symfollow: [0, MOUNT_ATTR.NOSYMFOLLOW],
  // atime modes replace each other: clear the mask, set the mode.
  relatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
  noatime: [MOUNT_ATTR.NOATIME, MOUNT_ATTR._ATIME],
  strictatime: [MOUNT_ATTR.STRICTATIME, MOUNT_ATTR._ATIME],
  // "norelatime"/"nostrictatime"/"atime" fall back to the kernel default, relatime.
  norelatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
  nostrictatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
  atime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
};

const PROPAGATION: Record<string, { type: number; recursive: boolean }> = {
  private: { type: MS.PRIVATE, recursive: false },
  rprivate: { type: MS.PRIVATE, recursive: true },
  shared: { type: MS.SHARED, recursive: false },
  rshared: { type: MS.SHARED, recursive: true },
  slave: { type: MS.SLAVE, recursive: false },
  rslave: { type: MS.SLAVE, recursive: true },
  unbindable: { type: MS.UNBINDABLE, recursive: false },
  runbindable: { type: MS.UNBINDABLE, recursive: true },
};

// Superblock flags the VFS parses itself from fsconfig (vfs_parse_sb_flag).
const SB_FLAGS = new Set(['sync', 'async', 'dirsync', 'lazytime', 'nolazytime', 'mand', 'nomand']);

/** Parses the OCI mount options of mounts[index]. Unsupported options are refused, never ignored. */
export function parseMountOptions(options: readonly string[], where: string): ParsedOptions {
  const p: ParsedOptions = {
    bind: false,
    recursive: false,
    attrSet: 0,
    attrClr: 0,
    recAttrSet: 0,
    recAttrClr: 0,
    propagation: [],
    data: [],
    copyUp: false,
  };
  for (const o of options) {
    const attr = ATTRS[o];
    const recAttr = o.startsWith('r') ? ATTRS[o.slice(1)] : undefined;
    if (o === 'bind' || o === 'rbind') {
      p.bind = true;
      p.recursive ||= o === 'rbind';
    } else if (attr) {
      p.attrSet = (p.attrSet & ~attr[1]) | attr[0];
      p.attrClr = (p.attrClr & ~attr[0]) | attr[1];
    } else if (recAttr) {
      p.recAttrSet = (p.recAttrSet & ~recAttr[1]) | recAttr[0];
      p.recAttrClr = (p.recAttrClr & ~recAttr[0]) | recAttr[1];
    } else if (PROPAGATION[o]) {
      p.propagation.push(PROPAGATION[o]);
    } else if (SB_FLAGS.has(o)) {
      if (o !== 'async' && o !== 'nomand' && o !== 'nolazytime') p.data.push(o);
    } else if (o === 'defaults' || o === 'remount' || o === '') {
      // "defaults" is fstab's word for no option; "remount" has no meaning for a new mount.
    } else if (o === 'tmpcopyup') {
      p.copyUp = true;
    } else if (o === 'idmap' || o === 'ridmap' || o.startsWith('X-')) {
      throw new CtrError({
        stage: 'rootfs',
        op: `parse ${where} option ${o}`,
        hint: `the "${o}" mount option is not supported by ctr yet; remove it`,
      });
    } else {
      p.data.push(o);
    }
  }
  return p;
}

/** The classic MS_* view of attributes, for printing plans the way mount(8) reads. */
export function attrNames(set: number, clr: number): string[] {
  const out: string[] = [];
  for (const [name, [s, c]] of Object.entries(ATTRS)) {
    if (name === 'norelatime' || name === 'nostrictatime' || name === 'atime') continue;
    const isAtime = c === MOUNT_ATTR._ATIME;
    if (
      isAtime
        ? (clr & MOUNT_ATTR._ATIME) !== 0 && (set & MOUNT_ATTR._ATIME) === s
        : s !== 0
          ? (set & s) === s
          : (clr & c) === c
    ) {
      out.push(name);
    }
  }
  return out;
}
