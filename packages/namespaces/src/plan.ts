import { CtrError } from '@ctr/sys';
import { validateIdMappings } from './idmap.ts';
import {
  type LinuxIdMapping,
  NAMESPACE_ORDER,
  type NamespacesConfig,
  type NamespacesHost,
  type NamespaceType,
} from './types.ts';

/** A clock whose offset a time namespace can shift. */
export type TimeClock = 'monotonic' | 'boottime';

export interface TimeOffsetEntry {
  clock: TimeClock;
  secs: number;
  nanosecs: number;
}

/** One step on the thread that launches the container, in order. */
export type NamespaceOp =
  | { op: 'join'; type: Exclude<NamespaceType, 'user'>; path: string }
  | { op: 'unshare'; types: Exclude<NamespaceType, 'user'>[] }
  | { op: 'sethostname'; name: string }
  | { op: 'setdomainname'; name: string }
  /**
   * In a new user namespace, once the parent has written the maps: take uid and gid 0
   * of the namespace (and, when setgroups is allowed, drop the caller's supplementary
   * groups, which are host groups the container must not keep).
   */
  | { op: 'become-root'; setgroups: boolean };

/**
 * How the user namespace is made. Node cannot create or join one (it is never
 * single-threaded), so a single-threaded util-linux helper does it as the first step
 * of the launch command.
 */
export type UserNamespacePlan =
  | {
      mode: 'create';
      uidMappings: LinuxIdMapping[];
      gidMappings: LinuxIdMapping[];
      /** "deny" when gid_map is written without CAP_SETGID (user_namespaces(7)). */
      setgroups: 'allow' | 'deny';
      /** Write the maps with newuidmap/newgidmap (a caller that is not root). */
      helpers: boolean;
    }
  | { mode: 'join'; path: string };

export interface NamespacesPlan {
  /** Namespace types that are created new for the container. */
  create: NamespaceType[];
  /** Namespaces joined by path. */
  join: { type: NamespaceType; path: string }[];
  /** What the launching thread does, in order, before it spawns the child. */
  thread: NamespaceOp[];
  user: UserNamespacePlan | undefined;
  /**
   * argv prefix of the launch command, empty when the thread does everything:
   * util-linux helpers for what needs a single-threaded process (making or joining a
   * user namespace; a time namespace with offsets, which are written through
   * /proc/self and so cannot come from a worker thread).
   */
  launcher: string[];
  /** What the child does itself once it runs in the namespaces unshare(1) made (uts names). */
  init: NamespaceOp[];
}

const unshareFlag: Record<NamespaceType, string> = {
  user: '--user',
  pid: '--pid',
  network: '--net',
  mount: '--mount',
  ipc: '--ipc',
  uts: '--uts',
  cgroup: '--cgroup',
  time: '--time',
};

const invalid = (op: string, hint: string, path?: string) =>
  new CtrError({ stage: 'namespaces', op, path, hint });

/** The caller as seen from process ids; subordinate ids are read by readNamespacesHost. */
export const rootHost: NamespacesHost = { uid: 0, gid: 0, subuids: [], subgids: [] };

/**
 * Decides how the container's namespaces are made: which are joined by path, which
 * are unshared on the launching thread, and, when there is a user namespace, the
 * unshare(1) launcher and the uid/gid maps the parent writes. Pure: throws CtrError
 * for configs that cannot be honoured.
 */
export function planNamespaces(config: NamespacesConfig, host: NamespacesHost = rootHost): NamespacesPlan {
  const namespaces = config.linux?.namespaces ?? [];
  const seen = new Set<NamespaceType>();
  const create: NamespaceType[] = [];
  const join: { type: NamespaceType; path: string }[] = [];
  for (const [i, ns] of namespaces.entries()) {
    if (!NAMESPACE_ORDER.includes(ns.type)) {
      throw invalid(`linux.namespaces[${i}]`, `unknown namespace type "${ns.type}"`);
    }
    if (seen.has(ns.type)) {
      throw invalid(`linux.namespaces[${i}]`, `the ${ns.type} namespace is listed twice`);
    }
    seen.add(ns.type);
    if (ns.path === undefined || ns.path === '') create.push(ns.type);
    else if (!ns.path.startsWith('/')) {
      throw invalid(`linux.namespaces[${i}].path`, 'a namespace path must be absolute', ns.path);
    } else join.push({ type: ns.type, path: ns.path });
  }
  // Spec order, so plans print the same whatever the config's order.
  const order = (a: { type: NamespaceType } | NamespaceType, b: { type: NamespaceType } | NamespaceType) =>
    NAMESPACE_ORDER.indexOf(typeof a === 'string' ? a : a.type) -
    NAMESPACE_ORDER.indexOf(typeof b === 'string' ? b : b.type);
  create.sort(order);
  join.sort(order);

  const uidMappings = config.linux?.uidMappings ?? [];
  const gidMappings = config.linux?.gidMappings ?? [];
  const newUser = create.includes('user');
  if (!newUser && (uidMappings.length > 0 || gidMappings.length > 0)) {
    throw invalid(
      'linux.uidMappings',
      'uid/gid mappings need a new user namespace; add {"type": "user"} to linux.namespaces',
    );
  }

  const offsets = timeOffsets(config);
  if (offsets.length > 0 && !create.includes('time')) {
    throw invalid('linux.timeOffsets', 'time offsets need a new time namespace; add {"type": "time"}');
  }
  const names: NamespaceOp[] = [];
  for (const [key, op] of [
    ['hostname', 'sethostname'],
    ['domainname', 'setdomainname'],
  ] as const) {
    const name = config[key];
    if (name === undefined || name === '') continue;
    if (!create.includes('uts')) {
      throw invalid(
        `set ${key}`,
        `setting the ${key} needs a new uts namespace (it would rename the host); add {"type": "uts"}`,
      );
    }
    names.push({ op, name });
  }

  const joins: NamespaceOp[] = join
    .filter((j): j is { type: Exclude<NamespaceType, 'user'>; path: string } => j.type !== 'user')
    .map((j) => ({ op: 'join', type: j.type, path: j.path }));
  const userJoin = join.find((j) => j.type === 'user');

  if (!newUser && !userJoin) {
    const types = create.filter(
      (t): t is Exclude<NamespaceType, 'user'> => t !== 'user' && !(t === 'time' && offsets.length > 0),
    );
    const thread: NamespaceOp[] = [...joins];
    if (types.length > 0) thread.push({ op: 'unshare', types });
    thread.push(...names);
    const launcher = offsets.length > 0 ? ['unshare', '--time', ...offsetArgs(offsets), '--'] : [];
    return { create, join, thread, user: undefined, launcher, init: [] };
  }

  // With a user namespace every new namespace is created by the helper after it, so
  // the user namespace owns them (and the container's root can administer them).
  const launcher: string[] = [];
  if (userJoin) {
    launcher.push('nsenter', `--user=${userJoin.path}`, '--preserve-credentials');
  }
  const rest = create.filter((t) => t !== 'user');
  if (newUser || rest.length > 0) {
    launcher.push('unshare');
    if (newUser) launcher.push('--user', '--keep-caps');
    for (const t of rest) launcher.push(unshareFlag[t]);
    if (rest.includes('mount')) launcher.push('--propagation', 'unchanged');
    if (rest.includes('pid')) launcher.push('--fork', '--kill-child');
    launcher.push(...offsetArgs(offsets));
  }
  launcher.push('--');
  const user: UserNamespacePlan = userJoin
    ? { mode: 'join', path: userJoin.path }
    : createUser(uidMappings, gidMappings, host);
  // unshare(1) execs the child as the unmapped overflow uid (it keeps its capabilities
  // as ambient ones); it becomes the namespace's root only after the maps exist.
  const init: NamespaceOp[] =
    user.mode === 'create' ? [{ op: 'become-root', setgroups: user.setgroups === 'allow' }, ...names] : names;
  return { create, join, thread: joins, user, launcher, init };
}

function offsetArgs(offsets: TimeOffsetEntry[]): string[] {
  return offsets.flatMap((o) => {
    if (o.nanosecs !== 0) {
      throw invalid(
        `linux.timeOffsets.${o.clock}`,
        'time offsets are set by unshare(1), which takes whole seconds; drop nanosecs',
      );
    }
    return [`--${o.clock}`, String(o.secs)];
  });
}

function createUser(
  uidMappings: LinuxIdMapping[],
  gidMappings: LinuxIdMapping[],
  host: NamespacesHost,
): UserNamespacePlan {
  if (uidMappings.length === 0 || gidMappings.length === 0) {
    throw invalid(
      'linux.uidMappings',
      'a new user namespace needs linux.uidMappings and linux.gidMappings (nobody would own the container otherwise)',
    );
  }
  validateIdMappings('uid', uidMappings, host.uid, host.subuids);
  validateIdMappings('gid', gidMappings, host.gid, host.subgids);
  const root = host.uid === 0;
  // Without CAP_SETGID over the parent namespace, an unprivileged writer may only map
  // its own gid and must deny setgroups first (CVE-2014-8989); newgidmap is setuid root.
  const ownOnly =
    gidMappings.length === 1 && gidMappings[0]?.hostID === host.gid && gidMappings[0]?.size === 1;
  const helpers = !root && !(ownOnly && uidMappings.length === 1 && uidMappings[0]?.hostID === host.uid);
  return {
    mode: 'create',
    uidMappings,
    gidMappings,
    setgroups: root || helpers ? 'allow' : 'deny',
    helpers,
  };
}

function timeOffsets(config: NamespacesConfig): TimeOffsetEntry[] {
  const out: TimeOffsetEntry[] = [];
  for (const [clock, o] of Object.entries(config.linux?.timeOffsets ?? {})) {
    if (clock !== 'monotonic' && clock !== 'boottime') {
      throw invalid(`linux.timeOffsets.${clock}`, 'only the monotonic and boottime clocks can be offset');
    }
    const secs = o.secs ?? 0;
    const nanosecs = o.nanosecs ?? 0;
    if (
      !Number.isSafeInteger(secs) ||
      !Number.isInteger(nanosecs) ||
      nanosecs < 0 ||
      nanosecs > 999_999_999
    ) {
      throw invalid(`linux.timeOffsets.${clock}`, 'secs must be an integer and nanosecs within 0..999999999');
    }
    out.push({ clock, secs, nanosecs });
  }
  return out.sort((a, b) => a.clock.localeCompare(b.clock));
}
