import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsCommand, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultRuntimeConfig,
  expectValid,
  parseProcess,
  parseRuntimeConfig,
  parseState,
  type RuntimeConfig,
  SpecError,
  serializeJson,
} from '../src/index.ts';

const tmp = makeTmp('ctr-spec-');
afterAll(() => removeTmp(tmp));

const valid = (): RuntimeConfig => defaultRuntimeConfig();

describe('parseRuntimeConfig', () => {
  it('accepts the default config and keeps unknown fields', () => {
    const doc = { ...valid(), futureField: { x: 1 }, process: { ...valid().process, vendorThing: true } };
    const r = parseRuntimeConfig(JSON.stringify(doc));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect((r.value as unknown as Record<string, unknown>).futureField).toEqual({ x: 1 });
      expect((r.value.process as unknown as Record<string, unknown>).vendorThing).toBe(true);
    }
  });

  it('points at the JSON path and collects every error', () => {
    // biome-ignore lint/suspicious/noExplicitAny: the test builds documents the types forbid
    const doc = valid() as unknown as Record<string, any>;
    doc.linux.resources.memory = { limit: '1g' };
    doc.process.user.uid = -1;
    doc.linux.namespaces.push({ type: 'net' });
    doc.process.cwd = 'relative';
    const r = parseRuntimeConfig(doc);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        { path: 'linux.resources.memory.limit', message: 'expected integer, got "1g"' },
        { path: 'process.user.uid', message: '-1 is out of range 0..4294967295' },
        { path: 'process.cwd', message: 'must be an absolute path, got "relative"' },
        expect.objectContaining({ path: 'linux.namespaces[5].type' }),
      ]),
    );
    expect(r.errors).toHaveLength(4);
  });

  it('rejects duplicate namespaces and rlimits, relative masked paths, missing fields', () => {
    // biome-ignore lint/suspicious/noExplicitAny: the test builds documents the types forbid
    const doc = valid() as unknown as Record<string, any>;
    doc.linux.namespaces.push({ type: 'pid' });
    doc.process.rlimits.push({ type: 'RLIMIT_NOFILE', hard: 1, soft: 2 });
    doc.linux.maskedPaths.push('proc/kcore');
    delete doc.root;
    delete doc.process.user.gid;
    const r = parseRuntimeConfig(doc);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.errors.map((e) => e.path).sort();
    expect(paths).toEqual(
      [
        'linux.maskedPaths[10]',
        'linux.namespaces[5]',
        'process.rlimits[1]',
        'process.rlimits[1].soft',
        'process.user.gid',
        'root',
      ].sort(),
    );
  });

  it('checks the linux, hooks and annotations rules of the spec', () => {
    const doc = valid();
    const linux = doc.linux ?? {};
    const bad = {
      ...doc,
      annotations: { '': 'x', ok: 'y' },
      hooks: { poststart: [{ path: 'hook.sh' }], prestart: [{ path: '/bin/true', timeout: 0 }] },
      linux: {
        ...linux,
        devices: [{ path: '/dev/fuse', type: 'c' }],
        resources: { devices: [{ allow: true, access: 'rwx' }], pids: {} },
        seccomp: {
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [
            { names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] },
          ],
        },
        rootfsPropagation: 'rshared-ish',
        timeOffsets: { realtime: { secs: 1 } },
      },
    };
    const r = parseRuntimeConfig(bad);
    expect(r.ok ? [] : r.errors).toEqual([
      { path: 'hooks.prestart[0].timeout', message: 'expected integer greater than zero, got 0' },
      { path: 'hooks.poststart[0].path', message: 'must be an absolute path, got "hook.sh"' },
      { path: 'annotations[""]', message: 'must not be empty' },
      {
        path: 'linux.resources.devices[0].access',
        message: 'expected a combination of r, w and m, got "rwx"',
      },
      { path: 'linux.resources.pids.limit', message: 'is required' },
      { path: 'linux.devices[0].major', message: 'is required for device type c' },
      { path: 'linux.devices[0].minor', message: 'is required for device type c' },
      { path: 'linux.seccomp.syscalls[0].args[0].index', message: 'expected argument index (0..5), got 6' },
      { path: 'linux.rootfsPropagation', message: expect.stringMatching(/^expected one of private, shared/) },
      { path: 'linux.timeOffsets.realtime', message: 'expected one of boottime, monotonic, got "realtime"' },
    ]);
  });

  it("accepts a device fileMode carrying the node's type bits, as podman writes it", () => {
    const doc = valid();
    const device = { path: '/dev/mynull', type: 'c' as const, major: 1, minor: 3, fileMode: 0o20666 };
    expect(parseRuntimeConfig({ ...doc, linux: { ...doc.linux, devices: [device] } }).ok).toBe(true);
    const beyond = { ...device, fileMode: 0o200000 };
    expect(parseRuntimeConfig({ ...doc, linux: { ...doc.linux, devices: [beyond] } }).ok).toBe(false);
  });

  it('keeps uint64 values exact through parse and serialize', () => {
    const text = JSON.stringify(valid()).replace('"hard":1024', '"hard":18446744073709551615');
    const config = expectValid(parseRuntimeConfig(text), 'config.json');
    expect(config.process?.rlimits?.[0]?.hard).toBe(18446744073709551615n);
    expect(serializeJson(config)).toContain('"hard":18446744073709551615');
    const over = text.replace('18446744073709551615', '18446744073709551616');
    expect(parseRuntimeConfig(over).ok).toBe(false);
  });

  it('reports bad JSON at the root and expectValid throws a SpecError', () => {
    const r = parseRuntimeConfig('{');
    expect(r.ok).toBe(false);
    expect(() => expectValid(r, 'config.json')).toThrow(SpecError);
    try {
      expectValid(parseRuntimeConfig({ ociVersion: 1 }), 'config.json');
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).stage).toBe('spec');
      expect((e as SpecError).issues.map((i) => i.path)).toEqual(['ociVersion', 'root']);
    }
  });

  it('requires user mappings to come with a user namespace', () => {
    const doc = valid();
    doc.linux = { ...doc.linux, uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] };
    const r = parseRuntimeConfig(doc);
    expect(r.ok ? [] : r.errors).toEqual([
      { path: 'linux.uidMappings', message: 'requires a user namespace in linux.namespaces' },
    ]);
    expect(parseRuntimeConfig(defaultRuntimeConfig({ rootless: true, uid: 1000, gid: 1000 })).ok).toBe(true);
  });
});

describe('parseProcess', () => {
  it('checks a process.json on its own, with paths relative to it', () => {
    expect(parseProcess({ user: { uid: 0, gid: 0 }, cwd: '/', args: ['sh'] }).ok).toBe(true);
    const r = parseProcess({ user: { uid: 0 }, cwd: '/', args: [], env: ['NOEQUALS'] });
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(['user.gid', 'args', 'env[0]']);
  });
});

describe('parseState', () => {
  it('requires a pid while the container runs', () => {
    const state = { ociVersion: '1.2.0', id: 'c1', status: 'running', bundle: '/b' };
    expect(parseState(state).ok ? [] : (parseState(state) as { errors: unknown[] }).errors).toEqual([
      { path: 'pid', message: 'is required when status is "running"' },
    ]);
    expect(parseState({ ...state, pid: 42 }).ok).toBe(true);
    expect(parseState({ ...state, status: 'stopped' }).ok).toBe(true);
  });
});

describe.runIf(runnable('runc spec comparison', needsCommand('runc')))('defaultRuntimeConfig', () => {
  for (const rootless of [false, true]) {
    it(`matches runc spec${rootless ? ' --rootless' : ''} except ociVersion`, () => {
      const dir = join(tmp, rootless ? 'rootless' : 'root');
      execFileSync('mkdir', ['-p', dir]);
      execFileSync('runc', ['spec', '--bundle', dir, ...(rootless ? ['--rootless'] : [])]);
      const runc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      const ours = defaultRuntimeConfig({ rootless });
      expect(ours.ociVersion).toBe('1.2.0');
      expect(serializeJson({ ...ours, ociVersion: runc.ociVersion }, '\t')).toBe(
        JSON.stringify(runc, null, '\t'),
      );
    });
  }
});
