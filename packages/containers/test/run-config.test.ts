import type { ImageConfig, LinuxSeccomp } from '@ctr/spec';
import { describe, expect, it } from 'vitest';
import {
  buildRunConfig,
  DEFAULT_CAPABILITIES,
  normalizeCapability,
  parseCpus,
  parseEnvFile,
  parseEnvFlag,
  parseSize,
  parseVolume,
} from '../src/index.ts';

const image: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
  config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], WorkingDir: '/srv', StopSignal: 'SIGQUIT' },
};
const seccomp: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] };
const ctx = {
  rootPath: 'rootfs',
  defaultSeccomp: seccomp,
  allCapabilities: ['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'],
  cgroupsPath: '/ctr/web',
  containerName: 'web',
};

describe('run flags', () => {
  it('parses sizes, cpus, volumes and capability names', () => {
    expect(parseSize('--memory', '512m')).toBe(512 * 1024 * 1024);
    expect(parseSize('--memory', '1g')).toBe(1024 ** 3);
    expect(parseSize('--memory', '4096')).toBe(4096);
    expect(() => parseSize('--memory', '1x')).toThrow(/containers: parse --memory "1x" — expected a size/);
    expect(parseCpus('1.5')).toEqual({ quota: 150000, period: 100000 });
    expect(() => parseCpus('-1')).toThrow(/--cpus/);
    expect(parseVolume('/a:/b:ro')).toEqual({ source: '/a', destination: '/b', readonly: true });
    expect(() => parseVolume('vol:/b')).toThrow(/absolute/);
    expect(normalizeCapability('net_admin')).toBe('CAP_NET_ADMIN');
    expect(normalizeCapability('all')).toBe('ALL');
  });

  it('reads env files and -e as docker does', () => {
    const env = { HOME: '/root' } as Record<string, string>;
    expect(parseEnvFile('# c\n\nA=1\nHOME\nMISSING\n  B=x y\n', (k) => env[k])).toEqual([
      'A=1',
      'HOME=/root',
      'B=x y',
    ]);
    expect(() => parseEnvFile('=x', () => undefined)).toThrow(/no name/);
    expect(parseEnvFlag('HOME', (k) => env[k])).toBe('HOME=/root');
    expect(parseEnvFlag('X', () => undefined)).toBeUndefined();
  });
});

describe('buildRunConfig', () => {
  it('is secure by default: podman caps, default seccomp, no new privileges, masked paths', () => {
    const c = buildRunConfig(image, {}, ctx);
    expect(c.process?.args).toEqual(['sh']);
    expect(c.process?.cwd).toBe('/srv');
    expect(c.process?.env).toContain('A=1');
    expect(c.process?.capabilities?.bounding).toEqual([...DEFAULT_CAPABILITIES].sort());
    expect(c.process?.capabilities?.ambient).toBeUndefined();
    expect(c.process?.noNewPrivileges).toBe(true);
    expect(c.linux?.seccomp).toBe(seccomp);
    expect(c.linux?.maskedPaths?.length).toBeGreaterThan(0);
    expect(c.linux?.namespaces?.map((n) => n.type)).toContain('network');
    expect(c.linux?.cgroupsPath).toBe('/ctr/web');
    expect(c.hostname).toBe('web');
    expect(c.root).toEqual({ path: 'rootfs', readonly: false });
  });

  it('applies flags', () => {
    const c = buildRunConfig(
      image,
      {
        args: ['echo', 'hi'],
        env: ['A=2'],
        readOnly: true,
        network: 'host',
        memoryBytes: 1 << 20,
        cpus: '0.5',
        pidsLimit: 10,
        capAdd: ['CAP_NET_ADMIN'],
        capDrop: ['CAP_CHOWN'],
        seccomp: { kind: 'unconfined' },
        volumes: [{ source: '/tmp', destination: '/data', readonly: true }],
        hostname: 'h',
        tty: true,
      },
      ctx,
    );
    expect(c.process?.args).toEqual(['echo', 'hi']);
    expect(c.process?.env).toContain('A=2');
    expect(c.process?.env).not.toContain('A=1');
    expect(c.root?.readonly).toBe(true);
    expect(c.linux?.namespaces?.map((n) => n.type)).not.toContain('network');
    expect(c.linux?.resources?.memory?.limit).toBe(1 << 20);
    expect(c.linux?.resources?.cpu).toEqual({ quota: 50000, period: 100000 });
    expect(c.linux?.resources?.pids?.limit).toBe(10);
    expect(c.process?.capabilities?.bounding).toContain('CAP_NET_ADMIN');
    expect(c.process?.capabilities?.bounding).not.toContain('CAP_CHOWN');
    expect(c.linux?.seccomp).toBeUndefined();
    expect(c.mounts?.at(-1)).toEqual({
      destination: '/data',
      type: 'bind',
      source: '/tmp',
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'ro'],
    });
    expect(c.hostname).toBe('h');
    expect(c.process?.terminal).toBe(true);
  });

  it('--privileged grants everything and unmasks the kernel views', () => {
    const c = buildRunConfig(image, { privileged: true }, ctx);
    expect(c.process?.capabilities?.bounding).toEqual(ctx.allCapabilities);
    expect(c.linux?.seccomp).toBeUndefined();
    expect(c.linux?.maskedPaths).toBeUndefined();
    expect(c.process?.noNewPrivileges).toBe(false);
    expect(c.mounts?.find((m) => m.type === 'sysfs')?.options).not.toContain('ro');
  });
});
