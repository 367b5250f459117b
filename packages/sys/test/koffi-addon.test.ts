import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadKoffi } from '../src/koffi-addon.ts';

describe('loadKoffi', () => {
  it('loads the addon of the installed koffi version', () => {
    const k = loadKoffi();
    expect((k as { version?: string }).version).toBe(
      (createRequire(import.meta.url)('koffi/package.json') as { version: string }).version,
    );
    expect(typeof k.load).toBe('function');
    expect(typeof k.errno).toBe('function');
  });

  it('calls into libc through the loaded addon', () => {
    const libc = loadKoffi().load('libc.so.6');
    const getpid = libc.func('int getpid(void)');
    expect(getpid()).toBe(process.pid);
  });
});
