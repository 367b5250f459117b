// Image config → runtime config, following the image spec's conversion.md.
import { CtrError } from '@ctr/sys';
import { defaultRuntimeConfig } from './defaults.ts';
import { Annotation, type ImageConfig } from './image-types.ts';
import type { RuntimeConfig, User } from './runtime-types.ts';

export interface ImageToRuntimeOptions {
  /**
   * Reads `etc/passwd` or `etc/group` of the image's rootfs, or returns undefined when
   * it does not exist. The caller must resolve the path inside the rootfs (openat2
   * RESOLVE_IN_ROOT): the rootfs is attacker-controlled and `etc/passwd` can be a
   * symlink to the host's.
   */
  readRootfsFile?: (path: 'etc/passwd' | 'etc/group') => string | undefined;
  /** The config to fill in; default: defaultRuntimeConfig(). It is not modified. */
  base?: RuntimeConfig;
  /** Replaces the image's Cmd (`ctr run IMAGE args...`). */
  args?: string[];
  /** Replaces the image's Entrypoint. */
  entrypoint?: string[];
  /** KEY=value entries added after the image's Env, overriding the same keys. */
  env?: string[];
  cwd?: string;
  /** Replaces the image's User, in the same `user[:group]` syntax. */
  user?: string;
}

// A passwd or group file larger than this is not something a sane image carries; the
// limit keeps a hostile image from making the runtime parse gigabytes.
const MAX_ID_FILE = 4 * 1024 * 1024;

const fail = (op: string, hint: string) => new CtrError({ stage: 'spec', op, hint });

/** Builds the runtime config that runs an image, per the image spec's conversion rules. */
export function imageConfigToRuntimeConfig(
  image: ImageConfig,
  opts: ImageToRuntimeOptions = {},
): RuntimeConfig {
  const config = structuredClone(opts.base ?? defaultRuntimeConfig());
  const exec = image.config ?? {};
  const proc = config.process ?? { user: { uid: 0, gid: 0 }, cwd: '/' };
  config.process = proc;

  const entrypoint = opts.entrypoint ?? exec.Entrypoint ?? [];
  const cmd = opts.args ?? exec.Cmd ?? [];
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw fail('convert image config', 'the image has neither Entrypoint nor Cmd; give the command to run');
  }
  proc.args = args;

  proc.env = mergeEnv(proc.env ?? [], exec.Env ?? [], opts.env ?? []);

  const cwd = opts.cwd ?? exec.WorkingDir;
  // Docker resolves a relative WorkingDir against / ; config.md requires an absolute cwd.
  if (cwd) proc.cwd = cwd.startsWith('/') ? cwd : `/${cwd}`;

  const userSpec = opts.user ?? exec.User;
  if (userSpec) proc.user = { ...resolveUser(userSpec, opts.readRootfsFile), ...pickUmask(proc.user) };

  const annotations: Record<string, string> = { ...config.annotations };
  for (const [k, v] of Object.entries(exec.Labels ?? {})) annotations[k] = v;
  annotations[Annotation.Os] = image.os;
  annotations[Annotation.Architecture] = image.architecture;
  if (image.variant) annotations[Annotation.Variant] = image.variant;
  if (image['os.version']) annotations[Annotation.OsVersion] = image['os.version'];
  if (image['os.features']?.length) annotations[Annotation.OsFeatures] = image['os.features'].join(',');
  if (image.author) annotations[Annotation.Author] = image.author;
  if (image.created) annotations[Annotation.Created] = image.created;
  if (exec.StopSignal) annotations[Annotation.StopSignal] = exec.StopSignal;
  const ports = Object.keys(exec.ExposedPorts ?? {});
  if (ports.length > 0) annotations[Annotation.ExposedPorts] = ports.join(',');
  config.annotations = annotations;
  return config;
}

function pickUmask(user: User): Pick<User, 'umask'> {
  return user.umask !== undefined ? { umask: user.umask } : {};
}

function mergeEnv(...lists: string[][]): string[] {
  const byKey = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf('=');
      byKey.set(eq < 0 ? entry : entry.slice(0, eq), entry);
    }
  }
  return [...byKey.values()];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const ID = /^\d{1,10}$/;
const toId = (s: string): number | undefined => {
  if (!ID.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
};

function readIdFile(
  read: ImageToRuntimeOptions['readRootfsFile'],
  path: 'etc/passwd' | 'etc/group',
): string[][] {
  const text = read?.(path);
  if (text === undefined) return [];
  if (text.length > MAX_ID_FILE) throw fail(`read /${path} of the image`, `larger than ${MAX_ID_FILE} bytes`);
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function parsePasswd(lines: string[][]): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of lines) {
    const uid = toId(f[2] ?? '');
    const gid = toId(f[3] ?? '');
    if (f[0] && uid !== undefined && gid !== undefined) out.push({ name: f[0], uid, gid });
  }
  return out;
}

function parseGroup(lines: string[][]): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of lines) {
    const gid = toId(f[2] ?? '');
    if (f[0] && gid !== undefined)
      out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/**
 * Resolves an image `User` (`name`, `uid`, `name:group`, `uid:gid`, ...) against the
 * image's own passwd and group files, never the host's. A numeric uid needs no file;
 * its primary group comes from passwd when listed there, else 0 (as Docker does).
 */
export function resolveUser(spec: string, read?: ImageToRuntimeOptions['readRootfsFile']): User {
  const op = `resolve image user ${JSON.stringify(spec)}`;
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  if (userPart === '' || groupPart === '') throw fail(op, 'expected user[:group] with both parts non-empty');
  if (/^-?\d+$/.test(userPart) && toId(userPart) === undefined)
    throw fail(op, 'uid is outside 0..4294967295');
  if (groupPart && /^-?\d+$/.test(groupPart) && toId(groupPart) === undefined) {
    throw fail(op, 'gid is outside 0..4294967295');
  }

  const needPasswd = toId(userPart) === undefined;
  const needGroup = groupPart !== undefined && toId(groupPart) === undefined;
  if ((needPasswd || needGroup) && !read) {
    throw fail(op, 'names need the image rootfs to resolve: pass readRootfsFile, or use numeric ids');
  }
  const passwd = parsePasswd(readIdFile(read, 'etc/passwd'));
  const groups = parseGroup(readIdFile(read, 'etc/group'));

  const numericUid = toId(userPart);
  const entry =
    numericUid !== undefined
      ? passwd.find((p) => p.uid === numericUid)
      : passwd.find((p) => p.name === userPart);
  if (numericUid === undefined && !entry)
    throw fail(op, `no user ${JSON.stringify(userPart)} in the image's /etc/passwd`);
  const uid = numericUid ?? (entry as PasswdEntry).uid;

  let gid: number;
  if (groupPart === undefined) gid = entry?.gid ?? 0;
  else {
    const numericGid = toId(groupPart);
    const group = numericGid === undefined ? groups.find((g) => g.name === groupPart) : undefined;
    if (numericGid === undefined && !group)
      throw fail(op, `no group ${JSON.stringify(groupPart)} in the image's /etc/group`);
    gid = numericGid ?? (group as GroupEntry).gid;
  }

  const user: User = { uid, gid };
  // Supplementary groups only when the group was not chosen explicitly: `user:group`
  // asks for exactly that group (runc's libcontainer/user does the same).
  if (entry && groupPart === undefined) {
    const extra = [
      ...new Set(groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid)),
    ];
    if (extra.length > 0) user.additionalGids = extra;
  }
  return user;
}
