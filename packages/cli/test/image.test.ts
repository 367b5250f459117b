import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient, staticCredentials } from '@ctr/registry';
import {
  type BuiltImage,
  busyboxImage,
  makeTmp,
  needsCommand,
  pushBuiltImage,
  type RegistryServer,
  removeTmp,
  runnable,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullReporter } from '../src/commands/image/progress.ts';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;

function ctr(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--', bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('pull progress', () => {
  it('draws one bar per blob with bytes, rate and ETA on a terminal', () => {
    let text = '';
    let t = 0;
    const write = (s: string): boolean => {
      text += s;
      return true;
    };
    const out = { isTTY: true, write } as unknown as NodeJS.WriteStream;
    const report = pullReporter(out, () => t);
    const digest = `sha256:${'a'.repeat(64)}`;
    report({
      type: 'resolved',
      ref: 'x.io/y:1',
      manifest: { mediaType: 'm', digest, size: 1 },
      content: {
        schemaVersion: 2,
        config: { mediaType: 'c', digest, size: 1 },
        layers: [{ mediaType: 'l', digest, size: 4 << 20 }],
      },
      platform: { os: 'linux', architecture: 'amd64' },
      blobs: [{ digest, size: 4 << 20, kind: 'layer' }],
    });
    report({ type: 'blob-start', digest, size: 4 << 20, kind: 'layer' });
    t = 1000;
    report({ type: 'blob-progress', digest, bytes: 1 << 20, size: 4 << 20 });
    expect(text).toContain('[=====>');
    expect(text).toContain('1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 3s');
    t = 2000;
    report({ type: 'blob-done', digest, size: 4 << 20, cached: false });
    t = 9000;
    report({ type: 'blob-progress', digest: `sha256:${'b'.repeat(64)}`, bytes: 1, size: 2 });
    expect(text.endsWith('4.0 MiB / 4.0 MiB  done in 2s\n')).toBe(true);
  });
});

describe.runIf(runnable('ctr image commands against docker-registry', needsCommand('docker-registry')))(
  'ctr image commands',
  () => {
    let registry: RegistryServer;
    let image: BuiltImage;
    let ref: string;
    const dir = makeTmp('ctr-cli-image-');
    const store = join(dir, 'store');

    beforeAll(async () => {
      registry = await startRegistry();
      image = await busyboxImage();
      ref = `${registry.host}/cli/busybox:1.0`;
      const client = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}) });
      await pushBuiltImage(client, `${registry.host}/cli/busybox`, '1.0', image);
      await client.close();
    });
    afterAll(async () => {
      await registry?.stop();
      removeTmp(dir);
    });

    it('pull prints line events off a terminal and the digest on stdout', async () => {
      const r = await ctr(['pull', '--store', store, '--plain-http', ref]);
      expect(r.stderr).toContain(`resolved ${ref} ${image.manifest.descriptor.digest}`);
      expect(r.stderr).toContain(`done ${image.layers[0]!.descriptor.digest}`);
      expect(r).toMatchObject({ status: 0, stdout: `${ref} ${image.manifest.descriptor.digest}\n` });
      const q = await ctr(['pull', '--store', store, '--plain-http', '--quiet', ref]);
      expect(q).toMatchObject({ status: 0, stderr: '' });
    });

    it('images, tag, inspect, rmi and gc work on the store (CTR_STORE as well as --store)', async () => {
      expect((await ctr(['tag', '--store', store, ref, 'example.com/copy:2'])).status).toBe(0);
      const json = JSON.parse((await ctr(['images', '--format', 'json'], { CTR_STORE: store })).stdout);
      expect(json.map((r: { ref: string }) => r.ref).sort()).toEqual(['example.com/copy:2', ref].sort());
      const tableOut = (await ctr(['images', '--store', store])).stdout;
      expect(tableOut.split('\n')[0]).toMatch(/^REF +DIGEST +PLATFORM +SIZE +CREATED$/);
      expect(tableOut).toContain(image.manifest.descriptor.digest.slice(7, 19));
      const inspected = JSON.parse((await ctr(['inspect', '--store', store, 'example.com/copy:2'])).stdout);
      expect(inspected.config.rootfs.diff_ids).toEqual(image.diffIds);
      expect(inspected.layers).toHaveLength(1);

      const archive = join(dir, 'out.tar');
      expect((await ctr(['image', 'export', '--store', store, '-o', archive, ref])).status).toBe(0);
      expect(existsSync(archive)).toBe(true);

      expect((await ctr(['rmi', '--store', store, ref, 'example.com/copy:2'])).status).toBe(0);
      const gc = await ctr(['image', 'gc', '--store', store]);
      expect(gc.stdout).toMatch(/^removed 3 blobs/);
      const missing = await ctr(['inspect', '--store', store, ref]);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/image: find image .*not in the store/);

      const imported = await ctr(['image', 'import', '--store', store, archive]);
      expect(imported).toMatchObject({ status: 0, stdout: `${ref} ${image.manifest.descriptor.digest}\n` });
    });
  },
);
