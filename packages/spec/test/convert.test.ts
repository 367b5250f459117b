import { CtrError } from '@ctr/sys';
import { describe, expect, it } from 'vitest';
import {
  Annotation,
  defaultRuntimeConfig,
  type ImageConfig,
  imageConfigToRuntimeConfig,
  resolveUser,
} from '../src/index.ts';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\nbroken:x:zz:1\n';
const group = 'root:x:0:\nuser:x:1000:\nwheel:x:10:user,other\naudio:x:29:user\n';
const read = (path: 'etc/passwd' | 'etc/group') => (path === 'etc/passwd' ? passwd : group);

const image = (config: ImageConfig['config'] = {}): ImageConfig => ({
  architecture: 'amd64',
  os: 'linux',
  config,
  rootfs: { type: 'layers', diff_ids: [] },
});

describe('resolveUser', () => {
  it('resolves names, ids and groups against the image files', () => {
    expect(resolveUser('user', read)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29] });
    expect(resolveUser('user:wheel', read)).toEqual({ uid: 1000, gid: 10 });
    expect(resolveUser('1000', read)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29] });
    expect(resolveUser('4242')).toEqual({ uid: 4242, gid: 0 });
    expect(resolveUser('4242:7')).toEqual({ uid: 4242, gid: 7 });
  });

  it('throws clear errors for unknown names and bad ids', () => {
    expect(() => resolveUser('ghost', read)).toThrow(/no user "ghost" in the image's \/etc\/passwd/);
    expect(() => resolveUser('user:ghosts', read)).toThrow(/no group "ghosts"/);
    expect(() => resolveUser('user')).toThrow(/readRootfsFile/);
    expect(() => resolveUser('4294967296')).toThrow(/outside/);
    expect(() => resolveUser(':1')).toThrow(CtrError);
    expect(() => resolveUser('broken', read)).toThrow(/no user "broken"/);
  });
});

describe('imageConfigToRuntimeConfig', () => {
  it('follows the conversion rules', () => {
    const config = imageConfigToRuntimeConfig(
      {
        ...image({
          Entrypoint: ['/bin/app'],
          Cmd: ['--serve'],
          Env: ['PATH=/app/bin', 'A=1'],
          WorkingDir: '/srv',
          User: 'user',
          StopSignal: 'SIGQUIT',
          Labels: { team: 'x' },
          ExposedPorts: { '80/tcp': {} },
        }),
        variant: 'v1',
      },
      { readRootfsFile: read, env: ['A=2'] },
    );
    expect(config.process?.args).toEqual(['/bin/app', '--serve']);
    expect(config.process?.env).toEqual(['PATH=/app/bin', 'TERM=xterm', 'A=2']);
    expect(config.process?.cwd).toBe('/srv');
    expect(config.process?.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29] });
    expect(config.annotations).toMatchObject({
      team: 'x',
      [Annotation.StopSignal]: 'SIGQUIT',
      [Annotation.Os]: 'linux',
      [Annotation.Architecture]: 'amd64',
      [Annotation.Variant]: 'v1',
      [Annotation.ExposedPorts]: '80/tcp',
    });
  });

  it('lets args replace Cmd but keeps Entrypoint, and never modifies the base', () => {
    const base = defaultRuntimeConfig();
    const config = imageConfigToRuntimeConfig(image({ Entrypoint: ['/bin/echo'], Cmd: ['hi'] }), {
      base,
      args: ['yo'],
    });
    expect(config.process?.args).toEqual(['/bin/echo', 'yo']);
    expect(base.process?.args).toEqual(['sh']);
  });

  it('refuses an image with nothing to run', () => {
    expect(() => imageConfigToRuntimeConfig(image({ Cmd: null }))).toThrow(/neither Entrypoint nor Cmd/);
  });
});
