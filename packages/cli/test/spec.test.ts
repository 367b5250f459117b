import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsCommand, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;
const tmp = makeTmp('ctr-cli-spec-');
afterAll(() => removeTmp(tmp));

function ctr(...args: string[]) {
  const r = spawnSync(process.execPath, ['--conditions=source', '--', bin, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function dir(name: string): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

describe('ctr spec', () => {
  it('writes a config.json that ctr validate accepts, and refuses to overwrite it', () => {
    const b = dir('plain');
    expect(ctr('spec', '--bundle', b).status).toBe(0);
    const config = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
    expect(config.ociVersion).toBe('1.2.0');
    expect(config.process.args).toEqual(['sh']);
    const again = ctr('spec', '--bundle', b);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/File exists/);
    const v = ctr('validate', '--bundle', b);
    expect(v.stdout).toBe(`${join(b, 'config.json')}: valid\n`);
    expect(v.status).toBe(0);
  });

  it.runIf(runnable('ctr spec against runc spec', needsCommand('runc')))(
    'writes the same file as runc spec, with and without --rootless',
    () => {
      for (const rootless of [[], ['--rootless']]) {
        const ours = dir(`ours${rootless.length}`);
        const theirs = dir(`runc${rootless.length}`);
        expect(ctr('spec', '-b', ours, ...rootless).status).toBe(0);
        expect(spawnSync('runc', ['spec', '-b', theirs, ...rootless]).status).toBe(0);
        const a = readFileSync(join(ours, 'config.json'), 'utf8');
        const b = readFileSync(join(theirs, 'config.json'), 'utf8');
        const version = /"ociVersion": "[^"]*"/;
        expect(a.replace(version, '')).toBe(b.replace(version, ''));
      }
    },
  );
});

describe('ctr spec errors', () => {
  it('names a missing bundle directory', () => {
    const r = ctr('spec', '--bundle', join(tmp, 'no', 'such'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cli: write config.json .*no\/such\/config.json — ENOENT/);
  });
});

describe('ctr validate', () => {
  it('prints every error with its JSON path and exits 1', () => {
    const b = dir('bad');
    expect(ctr('spec', '-b', b).status).toBe(0);
    const path = join(b, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8'));
    config.linux.resources.memory = { limit: '1g' };
    config.process.user.uid = 'root';
    writeFileSync(path, JSON.stringify(config));
    const r = ctr('validate', path);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `${path}: process.user.uid: expected integer, got "root"\n${path}: linux.resources.memory.limit: expected integer, got "1g"\n`,
    );
  });

  it('checks other document kinds and rejects unknown kinds', () => {
    const path = join(dir('kinds'), 'manifest.json');
    writeFileSync(path, JSON.stringify({ schemaVersion: 1, fsLayers: [] }));
    const r = ctr('validate', '--kind', 'manifest', path);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/schemaVersion: Docker schema1 manifests are not supported/);
    const bad = ctr('validate', '--kind', 'nope', path);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown kind/);
  });

  it('reports a missing file', () => {
    const r = ctr('validate', join(tmp, 'missing.json'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/missing\.json/);
  });
});
