// process.* (and linux.personality) → the ordered privilege operations of a container's
// process. The order is runc's finalizeNamespace order, and it is the security:
//   process attributes (rlimits, oom, ioprio, scheduler, personality, LSM label)
//   → drop the bounding set (needs CAP_SETPCAP, so while still root)
//   → keep-caps on → setgroups → setresgid → setresuid → keep-caps off
//   → umask → capset → ambient raises → no_new_privs.
import type {
  IOPriorityClass,
  Linux,
  LinuxPersonalityDomain,
  Process,
  RlimitType,
  SchedulerFlag,
  SchedulerPolicy,
} from '@ctr/spec';
import { type CapabilityName, CtrError, RLIM_INFINITY } from '@ctr/sys';
import type { PrivilegesHost } from './host.ts';
import { capabilityMask, capabilityName, capabilityNumber, knownCapabilities } from './names.ts';

export type PrivilegeOp =
  | { op: 'setrlimit'; type: RlimitType; soft: bigint; hard: bigint }
  | { op: 'oomScoreAdj'; value: number }
  | { op: 'ioPriority'; class: IOPriorityClass; priority: number }
  | {
      op: 'scheduler';
      policy: SchedulerPolicy;
      flags: SchedulerFlag[];
      nice: number;
      priority: number;
      runtime: bigint;
      deadline: bigint;
      period: bigint;
    }
  | { op: 'personality'; domain: LinuxPersonalityDomain }
  | { op: 'apparmorProfile'; profile: string }
  | { op: 'selinuxLabel'; label: string }
  /** Names; a capability newer than ctr's table is named `CAP_<n>`. */
  | { op: 'dropBounding'; caps: string[] }
  | { op: 'keepCaps'; on: boolean }
  | { op: 'setgroups'; gids: number[] }
  | { op: 'setresgid'; gid: number }
  | { op: 'setresuid'; uid: number }
  | { op: 'umask'; mask: number }
  | { op: 'capset'; effective: CapabilityName[]; permitted: CapabilityName[]; inheritable: CapabilityName[] }
  | { op: 'ambient'; raise: CapabilityName[] }
  | { op: 'noNewPrivs' };

/** What applyPrivileges will do, in order, plus what the plan chose to ignore and why. */
export interface PrivilegesPlan {
  ops: PrivilegeOp[];
  warnings: string[];
}

const fail = (op: string, hint: string, path?: string) =>
  new CtrError({ stage: 'capabilities', op, path, hint });

const toBig = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));

/**
 * Plans the privileges of a container's process. Pure: the host facts come from
 * probePrivilegesHost() (or a test). Throws CtrError for a config that cannot be
 * applied on this host; returns warnings where runc warns and carries on.
 */
export function planPrivileges(
  process: Process,
  host: PrivilegesHost,
  linux: Pick<Linux, 'personality'> = {},
): PrivilegesPlan {
  const ops: PrivilegeOp[] = [];
  const warnings: string[] = [];

  planRlimits(process, host, ops);
  if (process.oomScoreAdj !== undefined) ops.push({ op: 'oomScoreAdj', value: process.oomScoreAdj });
  if (process.ioPriority) {
    ops.push({ op: 'ioPriority', class: process.ioPriority.class, priority: process.ioPriority.priority });
  }
  if (process.scheduler) {
    const s = process.scheduler;
    ops.push({
      op: 'scheduler',
      policy: s.policy,
      flags: s.flags ?? [],
      nice: s.nice ?? 0,
      priority: s.priority ?? 0,
      runtime: toBig(s.runtime ?? 0),
      deadline: toBig(s.deadline ?? 0),
      period: toBig(s.period ?? 0),
    });
  }
  if (linux.personality) {
    if (linux.personality.flags?.length) {
      throw fail(
        'set personality',
        `linux.personality.flags (${linux.personality.flags.join(', ')}) are not supported; only the domain is applied, as in runc`,
      );
    }
    ops.push({ op: 'personality', domain: linux.personality.domain });
  }
  if (process.apparmorProfile) {
    if (!host.apparmor) {
      throw fail(
        `apply AppArmor profile ${process.apparmorProfile}`,
        'AppArmor is not enabled on this host; remove process.apparmorProfile (runc fails the same way)',
      );
    }
    ops.push({ op: 'apparmorProfile', profile: process.apparmorProfile });
  }
  if (process.selinuxLabel) {
    if (!host.selinux) {
      throw fail(
        `apply SELinux label ${process.selinuxLabel}`,
        'SELinux is disabled or not supported on this host; remove process.selinuxLabel (runc refuses it too)',
      );
    }
    ops.push({ op: 'selinuxLabel', label: process.selinuxLabel });
  }

  const caps = process.capabilities;
  const sets = caps ? resolveSets(caps, host, warnings) : undefined;
  if (sets) {
    const keep = new Set<string>(sets.bounding);
    // Every capability the kernel knows, named by ctr or not: a kernel newer than ctr
    // must not leave its new capabilities in the container's bounding set.
    const drop: string[] = [];
    for (let cap = 0; cap <= host.lastCap; cap++) {
      const name = capabilityName(cap);
      if (!keep.has(name) && (host.bounding >> BigInt(cap)) & 1n) drop.push(name);
    }
    if (drop.length > 0) ops.push({ op: 'dropBounding', caps: drop });
  } else {
    warnings.push(
      'process.capabilities is not set: the process keeps the runtime capabilities, as with runc',
    );
  }

  const user = process.user;
  const changesUid = user.uid !== 0;
  if (sets && changesUid) ops.push({ op: 'keepCaps', on: true });
  const gids = [...new Set(user.additionalGids ?? [])];
  if (host.setgroups) ops.push({ op: 'setgroups', gids });
  else if (gids.length > 0) {
    throw fail(
      'set supplementary groups',
      'setgroups is denied in this user namespace (/proc/self/setgroups is "deny"); remove process.user.additionalGids',
    );
  }
  ops.push({ op: 'setresgid', gid: user.gid });
  ops.push({ op: 'setresuid', uid: user.uid });
  if (sets && changesUid) ops.push({ op: 'keepCaps', on: false });
  if (user.umask !== undefined) ops.push({ op: 'umask', mask: user.umask });

  if (sets) {
    ops.push({
      op: 'capset',
      effective: sets.effective,
      permitted: sets.permitted,
      inheritable: sets.inheritable,
    });
    // runc warns and goes on when an ambient capability cannot be raised: `runc spec`
    // itself asks for ambient capabilities without making them inheritable.
    const allowed = new Set<string>(sets.permitted.filter((c) => sets.inheritable.includes(c)));
    const raise = sets.ambient.filter((c) => allowed.has(c));
    const skipped = sets.ambient.filter((c) => !allowed.has(c));
    if (skipped.length > 0) {
      warnings.push(
        `ambient capabilities not raised (an ambient capability must be permitted and inheritable): ${skipped.join(', ')}`,
      );
    }
    ops.push({ op: 'ambient', raise });
  }
  if (process.noNewPrivileges) ops.push({ op: 'noNewPrivs' });
  return { ops, warnings };
}

type SetName = 'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient';
const SET_NAMES: SetName[] = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'];

function resolveSets(
  caps: NonNullable<Process['capabilities']>,
  host: PrivilegesHost,
  warnings: string[],
): Record<SetName, CapabilityName[]> {
  const known = new Set<string>(knownCapabilities(host.lastCap));
  const unknown = new Set<string>();
  const unavailable: string[] = [];
  const out = {} as Record<SetName, CapabilityName[]>;
  for (const set of SET_NAMES) {
    const names = [...new Set(caps[set] ?? [])];
    out[set] = names.filter((n): n is CapabilityName => {
      if (known.has(n)) return true;
      unknown.add(n);
      return false;
    });
    if (set !== 'bounding' && set !== 'ambient') {
      const held = set === 'inheritable' ? host.bounding | host.permitted : host.permitted;
      for (const n of out[set]) {
        if (!((held >> BigInt(capabilityNumber(n) ?? 0)) & 1n))
          unavailable.push(`${n} (process.capabilities.${set})`);
      }
    }
  }
  // runc ignores capabilities the kernel does not know, with a warning, so one config
  // runs on old and new kernels.
  if (unknown.size > 0) {
    warnings.push(`ignoring capabilities unknown to this kernel: ${[...unknown].join(', ')}`);
  }
  if (unavailable.length > 0) {
    throw fail(
      'set capabilities',
      `the runtime does not hold ${unavailable.join(', ')}; its own bounding or permitted set lacks them, so the container cannot get them — remove them from the config`,
    );
  }
  const notPermitted = out.effective.filter((c) => !out.permitted.includes(c));
  if (notPermitted.length > 0) {
    throw fail(
      'set capabilities',
      `process.capabilities.effective has ${notPermitted.join(', ')} which process.capabilities.permitted lacks; the kernel requires effective ⊆ permitted`,
    );
  }
  // capset(2) refuses inheritable capabilities outside the bounding set, which is
  // already dropped by then: say which ones instead of a bare EPERM.
  const mask = capabilityMask(out.bounding);
  const beyond = out.inheritable.filter((c) => !((mask >> BigInt(capabilityNumber(c) ?? 0)) & 1n));
  if (beyond.length > 0) {
    throw fail(
      'set capabilities',
      `process.capabilities.inheritable has ${beyond.join(', ')} outside process.capabilities.bounding; the kernel refuses inheritable capabilities outside the bounding set`,
    );
  }
  return out;
}

function planRlimits(process: Process, host: PrivilegesHost, ops: PrivilegeOp[]): void {
  for (const r of process.rlimits ?? []) {
    const soft = toBig(r.soft);
    const hard = toBig(r.hard);
    const current = host.rlimits?.[r.type];
    const canRaise = (host.permitted >> 24n) & 1n; // CAP_SYS_RESOURCE
    if (current && hard > current.hard && !canRaise) {
      const show = (v: bigint) => (v === RLIM_INFINITY ? 'unlimited' : String(v));
      throw fail(
        `setrlimit ${r.type}`,
        `raising the hard limit from ${show(current.hard)} to ${show(hard)} needs CAP_SYS_RESOURCE, which the runtime lacks (not in its bounding set); lower process.rlimits`,
      );
    }
    ops.push({ op: 'setrlimit', type: r.type, soft, hard });
  }
}
