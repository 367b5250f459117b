import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { needsCommand, runnable, startFaultProxy, startRegistry } from '../src/index.ts';

function get(url: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    })
      .on('error', reject)
      .end();
  });
}

describe.runIf(runnable('testkit registry fixtures', needsCommand('docker-registry')))(
  'startRegistry, startFaultProxy',
  () => {
    it('serves /v2/ until stopped, then leaves no process or storage behind', async () => {
      const registry = await startRegistry();
      expect((await get(`${registry.url}/v2/`)).status).toBe(200);
      await registry.stop();
      await expect(get(`${registry.url}/v2/`)).rejects.toThrow();
      expect(existsSync(registry.storage)).toBe(false);
    });

    it('proxies, logs and injects faults in order', async () => {
      const registry = await startRegistry();
      const proxy = await startFaultProxy(registry.url);
      try {
        proxy.inject({ path: /^\/v2\/$/, fault: { kind: 'status', status: 429, retryAfter: 3 } });
        const limited = await get(`${proxy.url}/v2/`);
        expect(limited.status).toBe(429);
        expect(limited.headers['retry-after']).toBe('3');
        expect((await get(`${proxy.url}/v2/`)).status).toBe(200);
        expect(proxy.requests.map((r) => [r.url, r.fault, r.status])).toEqual([
          ['/v2/', 'status', 429],
          ['/v2/', undefined, 200],
        ]);
      } finally {
        await proxy.stop();
        await registry.stop();
      }
    });
  },
);
