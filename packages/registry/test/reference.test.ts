import { describe, expect, it } from 'vitest';
import { parseReference, RegistryError } from '../src/index.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['alpine', 'docker.io', 'library/alpine', 'latest', undefined, 'registry-1.docker.io'],
    ['library/alpine:3.20', 'docker.io', 'library/alpine', '3.20', undefined, 'registry-1.docker.io'],
    ['user/app', 'docker.io', 'user/app', 'latest', undefined, 'registry-1.docker.io'],
    ['index.docker.io/user/app:1', 'docker.io', 'user/app', '1', undefined, 'registry-1.docker.io'],
    ['localhost/app', 'localhost', 'app', 'latest', undefined, 'localhost'],
    ['localhost:5000/a/b/c:t', 'localhost:5000', 'a/b/c', 't', undefined, 'localhost:5000'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000', 'x', 'latest', undefined, '127.0.0.1:5000'],
    ['[::1]:5000/x:y', '[::1]:5000', 'x', 'y', undefined, '[::1]:5000'],
    ['ghcr.io/org/team/app_x.y-z__w', 'ghcr.io', 'org/team/app_x.y-z__w', 'latest', undefined, 'ghcr.io'],
    [`quay.io/a/b@${D}`, 'quay.io', 'a/b', undefined, D, 'quay.io'],
    [`quay.io/a/b:v1@${D}`, 'quay.io', 'a/b', 'v1', D, 'quay.io'],
    ['Registry/app', 'Registry', 'app', 'latest', undefined, 'Registry'],
  ])('%s', (input, registry, repository, tag, digest, apiHost) => {
    const ref = parseReference(input);
    expect({
      registry: ref.registry,
      repository: ref.repository,
      tag: ref.tag,
      digest: ref.digest,
      apiHost: ref.apiHost,
    }).toEqual({
      registry,
      repository,
      tag,
      digest,
      apiHost,
    });
    expect(parseReference(ref.toString()).toString()).toBe(ref.toString());
  });

  it('writes the canonical form', () => {
    expect(parseReference('alpine').toString()).toBe('docker.io/library/alpine:latest');
    expect(parseReference(`a/b:t@${D}`).toString()).toBe(`docker.io/a/b:t@${D}`);
  });

  it.each([
    ['', 'empty'],
    ['UPPER', 'not a valid repository component'],
    ['a/b:', 'tag'],
    ['a/b:-x', 'tag'],
    [`a@sha256:${'a'.repeat(63)}`, 'digest'],
    ['a@sha256:../../etc/passwd', 'digest'],
    ['a//b', 'repository component'],
    ['a/b c', 'whitespace'],
    ['-host.io/a', 'registry'],
    [`host.io/${'a'.repeat(260)}`, 'longer than'],
    ['host.io/', 'empty'],
    ['a/b_', 'repository component'],
  ])('rejects %j', (input, why) => {
    const err = (() => {
      try {
        parseReference(input);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).kind).toBe('reference');
    expect((err as RegistryError).stage).toBe('registry');
    expect((err as RegistryError).message).toContain(why);
  });
});
