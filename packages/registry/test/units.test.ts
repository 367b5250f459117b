import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, removeTmp } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeScopes } from '../src/auth/tokens.ts';
import {
  authFileCredentials,
  defaultAuthFiles,
  parseChallenges,
  parsePlatform,
  platformMatches,
  RegistryError,
  selectPlatform,
} from '../src/index.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeTmp(d);
});

describe('parseChallenges', () => {
  it('reads Bearer parameters, quoted commas and several challenges', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push", Basic realm="x"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull,push',
        },
      },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
    expect(parseChallenges('Basic realm=unquoted')).toEqual([
      { scheme: 'basic', params: { realm: 'unquoted' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('platforms', () => {
  const index = [
    { mediaType: 'm', digest: 'sha256:1', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    {
      mediaType: 'm',
      digest: 'sha256:2',
      size: 1,
      platform: { os: 'linux', architecture: 'arm', variant: 'v6' },
    },
    { mediaType: 'm', digest: 'sha256:3', size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    { mediaType: 'm', digest: 'sha256:4', size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
  ];
  it('parses os/arch[/variant] and treats arm64 without variant as v8', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' })).toBe(
      true,
    );
    expect(
      platformMatches(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v6' }),
    ).toBe(false);
    expect(() => parsePlatform('linux')).toThrow(RegistryError);
    expect(selectPlatform(index, parsePlatform('linux/arm64'), 'x').digest).toBe('sha256:3');
  });
  it('lists what the index offers when nothing matches, leaving out attestations', () => {
    const err = (() => {
      try {
        selectPlatform(index, parsePlatform('linux/riscv64'), 'reg/repo:tag');
      } catch (e) {
        return e as RegistryError;
      }
    })();
    expect(err?.kind).toBe('platform');
    expect(err?.hint).toBe(
      'the image offers linux/amd64, linux/arm/v6, linux/arm64; choose one with --platform',
    );
  });
});

describe('auth files', () => {
  it('finds the files podman and docker use, in podman order', () => {
    expect(
      defaultAuthFiles({ REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/run/user/0', HOME: '/h' }),
    ).toEqual([
      '/a.json',
      '/run/user/0/containers/auth.json',
      '/h/.config/containers/auth.json',
      '/h/.docker/config.json',
    ]);
  });

  it('reads auth and username/password entries, Docker Hub under its v1 URL, first file wins', async () => {
    const dir = makeTmp();
    dirs.push(dir);
    mkdirSync(join(dir, 'd'));
    const first = join(dir, 'auth.json');
    const second = join(dir, 'd', 'config.json');
    writeFileSync(first, JSON.stringify({ auths: { 'quay.io': { username: 'q', password: 'qp' } } }));
    writeFileSync(
      second,
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:h:p').toString('base64') },
          'quay.io': { auth: Buffer.from('other:o').toString('base64') },
        },
      }),
    );
    const lookup = authFileCredentials([join(dir, 'missing.json'), first, second]);
    expect(await lookup('quay.io')).toEqual({ username: 'q', password: 'qp' });
    expect(await lookup('docker.io')).toEqual({ username: 'hub', password: 'h:p' });
    expect(await lookup('ghcr.io')).toBeUndefined();
  });

  it('reports a broken auth file without quoting it', async () => {
    const dir = makeTmp();
    dirs.push(dir);
    const file = join(dir, 'auth.json');
    writeFileSync(file, '{"auths": {"x": {"auth": "c2VjcmV0LXRleHQ="}');
    const err = (await authFileCredentials([file])('x').catch((e: unknown) => e)) as RegistryError;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err?.message).toContain(file);
    expect(err?.message).not.toContain('c2VjcmV0');
  });
});

describe('mergeScopes', () => {
  it('merges actions per resource and keeps our order', () => {
    expect(
      mergeScopes(
        ['repository:a:pull,push', 'repository:b:pull'],
        ['repository:a:pull', 'repository:c:pull', 'registry:catalog:*'],
      ),
    ).toEqual(['repository:a:pull,push', 'repository:b:pull', 'repository:c:pull', 'registry:catalog:*']);
  });
});
