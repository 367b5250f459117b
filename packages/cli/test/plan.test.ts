import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig } from '@ctr/spec';
import { makeTmp, removeTmp } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;
const tmp = makeTmp('ctr-cli-plan-');
afterAll(() => removeTmp(tmp));

function ctr(...args: string[]) {
  const r = spawnSync(process.execPath, ['--conditions=source', '--', bin, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ctr plan', () => {
  it('prints the namespaces and rootfs operations of a bundle, the same every time', () => {
    const b = join(tmp, 'b');
    mkdirSync(b);
    const config = defaultRuntimeConfig() as { hostname?: string };
    config.hostname = 'box';
    writeFileSync(join(b, 'config.json'), JSON.stringify(config));
    const r = ctr('plan', '--bundle', b);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('namespaces:');
    expect(lines).toContain('  thread: sethostname "box"');
    expect(lines).toContain('rootfs:');
    expect(lines).toContain(`  bind-root ${join(b, 'rootfs')}`);
    expect(lines).toContain('  pivot_root');
    expect(ctr('plan', '--bundle', b).stdout).toBe(r.stdout);
    expect(ctr('plan', '--bundle', b, '--no-pivot').stdout).toContain('  move-root (MS_MOVE + chroot)\n');
  });

  it('explains a config that cannot be planned', () => {
    const b = join(tmp, 'bad');
    mkdirSync(b);
    const config = defaultRuntimeConfig() as { linux: { sysctl?: Record<string, string> } };
    config.linux.sysctl = { 'vm.swappiness': '10' };
    writeFileSync(join(b, 'config.json'), JSON.stringify(config));
    const r = ctr('plan', '--bundle', b);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/rootfs: sysctl vm.swappiness — this sysctl is not namespaced/);
  });
});
