import { spawn } from 'node:child_process';
import { RegistryClient, staticCredentials } from '@ctr/registry';
import {
  type BuiltImage,
  busyboxImage,
  needsCommand,
  type RegistryServer,
  runnable,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;

// Asynchronous, so the registry in this process keeps answering while ctr runs.
function ctr(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--', bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe.runIf(
  runnable('ctr tags and ctr manifest against docker-registry', needsCommand('docker-registry')),
)('ctr tags, ctr manifest', () => {
  let registry: RegistryServer;
  let image: BuiltImage;

  beforeAll(async () => {
    registry = await startRegistry();
    image = await busyboxImage({ index: true });
    const client = new RegistryClient({ plainHttp: true, credentials: staticCredentials({}) });
    const repo = `${registry.host}/cli/busybox`;
    for (const img of image.images) {
      for (const b of [...img.layers, img.config]) await client.pushBlob(repo, b.bytes, b.descriptor);
      await client.pushManifest(
        `${repo}@${img.manifest.descriptor.digest}`,
        img.manifest.bytes,
        img.manifest.descriptor.mediaType,
      );
    }
    await client.pushManifest(`${repo}:1.0`, image.top.bytes, image.top.descriptor.mediaType);
    await client.pushManifest(`${repo}:latest`, image.top.bytes, image.top.descriptor.mediaType);
    await client.close();
  });
  afterAll(async () => registry?.stop());

  it('lists tags', async () => {
    const r = await ctr('tags', '--plain-http', `${registry.host}/cli/busybox`);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['1.0', 'latest']);
  });

  it('prints the platform manifest, or the index with --index, with the digest on stderr', async () => {
    const m = await ctr('manifest', '--plain-http', `${registry.host}/cli/busybox:1.0`);
    expect(m.status).toBe(0);
    expect(m.stdout.trim()).toBe(image.manifest.bytes.toString());
    expect(m.stderr.trim()).toBe(image.manifest.descriptor.digest);
    const i = await ctr('manifest', '--plain-http', '--index', `${registry.host}/cli/busybox:1.0`);
    expect(i.stderr.trim()).toBe(image.index?.descriptor.digest);
  });

  it('fails with the platforms on offer, and refuses HTTPS without the CA', async () => {
    const r = await ctr(
      'manifest',
      '--plain-http',
      '--platform',
      'linux/s390x',
      `${registry.host}/cli/busybox:1.0`,
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('registry: select platform linux/s390x');
    expect(r.stderr).toContain('--platform');
    const tls = await ctr('tags', `${registry.host}/cli/busybox`);
    expect(tls.status).not.toBe(0);
    expect(tls.stderr).toContain('--plain-http');
  });
});
