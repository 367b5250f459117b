import { defaultRuntimeConfig, type Process } from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { describe, expect, it } from 'vitest';
import {
  capabilityMask,
  capabilityNames,
  capabilityNumber,
  formatPrivilegesPlan,
  type PrivilegesHost,
  planPrivileges,
} from '../src/index.ts';

const ALL = (1n << 41n) - 1n;
const NO_SYS_RESOURCE = ALL & ~(1n << 24n);

const host = (over: Partial<PrivilegesHost> = {}): PrivilegesHost => ({
  lastCap: 40,
  bounding: NO_SYS_RESOURCE,
  permitted: NO_SYS_RESOURCE,
  setgroups: true,
  apparmor: false,
  selinux: false,
  rlimits: { RLIMIT_NOFILE: { soft: 1024n, hard: 524288n } },
  ...over,
});

const runcDefault = (): Process => defaultRuntimeConfig().process as Process;

describe('capability names', () => {
  it('maps names and masks both ways', () => {
    expect(capabilityNumber('CAP_CHOWN')).toBe(0);
    expect(capabilityNumber('CAP_CHECKPOINT_RESTORE')).toBe(40);
    expect(capabilityNumber('CAP_NOPE')).toBeUndefined();
    expect(capabilityMask(['CAP_CHOWN', 'CAP_KILL'])).toBe(0x21n);
    expect(capabilityNames(0x21n)).toEqual(['CAP_CHOWN', 'CAP_KILL']);
  });
});

describe('planPrivileges', () => {
  it('orders the operations as runc does for the default config', () => {
    const plan = planPrivileges(
      { ...runcDefault(), user: { uid: 1000, gid: 1000, additionalGids: [10] } },
      host(),
    );
    expect(plan.ops.map((o) => o.op)).toEqual([
      'setrlimit',
      'dropBounding',
      'keepCaps',
      'setgroups',
      'setresgid',
      'setresuid',
      'keepCaps',
      'capset',
      'ambient',
      'noNewPrivs',
    ]);
    const drop = plan.ops.find((o) => o.op === 'dropBounding');
    expect(drop?.op === 'dropBounding' && drop.caps).not.toContain('CAP_KILL');
    expect(drop?.op === 'dropBounding' && drop.caps).not.toContain('CAP_SYS_RESOURCE');
    expect(drop?.op === 'dropBounding' && drop.caps).toContain('CAP_SYS_ADMIN');
    // runc spec's ambient caps are not inheritable: runc warns and skips them.
    expect(plan.ops.find((o) => o.op === 'ambient')).toEqual({ op: 'ambient', raise: [] });
    expect(plan.warnings).toEqual([
      'ambient capabilities not raised (an ambient capability must be permitted and inheritable): CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE',
    ]);
    const lines = formatPrivilegesPlan(plan);
    expect(lines[0]).toBe('setrlimit RLIMIT_NOFILE soft=1024 hard=1024');
    expect(lines[1]).toMatch(/^drop bounding set CAP_CHOWN,CAP_DAC_OVERRIDE,/);
    expect(lines.slice(2, 7)).toEqual([
      'prctl PR_SET_KEEPCAPS 1',
      'setgroups [10]',
      'setresgid 1000',
      'setresuid 1000',
      'prctl PR_SET_KEEPCAPS 0',
    ]);
    expect(lines.at(-1)).toMatch(/^warning: ambient capabilities not raised/);
  });

  it('does not need keep-caps for root and keeps the runtime caps when none are given', () => {
    const plan = planPrivileges({ user: { uid: 0, gid: 0 }, cwd: '/' }, host());
    expect(plan.ops.map((o) => o.op)).toEqual(['setgroups', 'setresgid', 'setresuid']);
    expect(plan.warnings[0]).toMatch(/process.capabilities is not set/);
  });

  it('drops capabilities of a kernel newer than its own table from the bounding set', () => {
    const plan = planPrivileges(
      { user: { uid: 0, gid: 0 }, cwd: '/', capabilities: { bounding: ['CAP_KILL'] } },
      host({ lastCap: 42, bounding: (1n << 43n) - 1n }),
    );
    const drop = plan.ops.find((o) => o.op === 'dropBounding');
    expect(drop?.op === 'dropBounding' && drop.caps.slice(-3)).toEqual([
      'CAP_CHECKPOINT_RESTORE',
      'CAP_41',
      'CAP_42',
    ]);
    expect(capabilityNumber('CAP_42')).toBe(42);
  });

  it('warns about names the kernel does not know', () => {
    const plan = planPrivileges(
      {
        user: { uid: 0, gid: 0 },
        cwd: '/',
        capabilities: {
          bounding: ['CAP_CHOWN', 'CAP_FUTURE'],
          effective: ['CAP_BPF'],
          permitted: ['CAP_BPF'],
        },
      },
      host({ lastCap: 38 }),
    );
    expect(plan.warnings).toContain('ignoring capabilities unknown to this kernel: CAP_FUTURE, CAP_BPF');
  });

  it('refuses a capability the runtime itself lacks, naming it', () => {
    const p: Process = {
      user: { uid: 0, gid: 0 },
      cwd: '/',
      capabilities: { permitted: ['CAP_SYS_RESOURCE', 'CAP_KILL'] },
    };
    expect(() => planPrivileges(p, host())).toThrow(CtrError);
    expect(() => planPrivileges(p, host())).toThrow(/CAP_SYS_RESOURCE \(process.capabilities.permitted\)/);
    expect(() => planPrivileges(p, host({ permitted: ALL, bounding: ALL }))).not.toThrow();
  });

  it('refuses effective capabilities that are not permitted', () => {
    const p: Process = { user: { uid: 0, gid: 0 }, cwd: '/', capabilities: { effective: ['CAP_KILL'] } };
    expect(() => planPrivileges(p, host())).toThrow(/effective ⊆ permitted/);
  });

  it('refuses inheritable capabilities outside the bounding set', () => {
    const p: Process = {
      user: { uid: 0, gid: 0 },
      cwd: '/',
      capabilities: {
        bounding: ['CAP_KILL'],
        permitted: ['CAP_KILL', 'CAP_CHOWN'],
        inheritable: ['CAP_CHOWN'],
      },
    };
    expect(() => planPrivileges(p, host())).toThrow(
      /inheritable has CAP_CHOWN outside process.capabilities.bounding/,
    );
  });

  it('refuses to raise a hard rlimit without CAP_SYS_RESOURCE', () => {
    const p: Process = {
      user: { uid: 0, gid: 0 },
      cwd: '/',
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }],
    };
    expect(() => planPrivileges(p, host())).toThrow(
      'capabilities: setrlimit RLIMIT_NOFILE — raising the hard limit from 524288 to 1048576 needs CAP_SYS_RESOURCE, which the runtime lacks (not in its bounding set); lower process.rlimits',
    );
    expect(planPrivileges(p, host({ permitted: ALL })).ops[0]).toEqual({
      op: 'setrlimit',
      type: 'RLIMIT_NOFILE',
      soft: 1048576n,
      hard: 1048576n,
    });
  });

  it('refuses LSM settings the host cannot apply, and setgroups where it is denied', () => {
    const base: Process = { user: { uid: 0, gid: 0 }, cwd: '/' };
    expect(() => planPrivileges({ ...base, apparmorProfile: 'docker-default' }, host())).toThrow(
      /AppArmor is not enabled/,
    );
    expect(() =>
      planPrivileges({ ...base, selinuxLabel: 'system_u:system_r:container_t:s0' }, host()),
    ).toThrow(/SELinux is disabled/);
    expect(planPrivileges({ ...base, apparmorProfile: 'p' }, host({ apparmor: true })).ops[0]).toEqual({
      op: 'apparmorProfile',
      profile: 'p',
    });
    expect(planPrivileges(base, host({ setgroups: false })).ops.map((o) => o.op)).toEqual([
      'setresgid',
      'setresuid',
    ]);
    expect(() =>
      planPrivileges({ ...base, user: { uid: 0, gid: 0, additionalGids: [1] } }, host({ setgroups: false })),
    ).toThrow(/setgroups is denied/);
  });

  it('plans process attributes before the credential change', () => {
    const plan = planPrivileges(
      {
        user: { uid: 1, gid: 1, umask: 0o27 },
        cwd: '/',
        oomScoreAdj: 500,
        ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 0 },
        scheduler: { policy: 'SCHED_BATCH', nice: 5 },
      },
      host(),
      { personality: { domain: 'LINUX32' } },
    );
    expect(plan.ops.map((o) => o.op)).toEqual([
      'oomScoreAdj',
      'ioPriority',
      'scheduler',
      'personality',
      'setgroups',
      'setresgid',
      'setresuid',
      'umask',
    ]);
    expect(() =>
      planPrivileges({ user: { uid: 0, gid: 0 }, cwd: '/' }, host(), {
        personality: { domain: 'LINUX', flags: ['X'] },
      }),
    ).toThrow(/flags/);
  });
});
