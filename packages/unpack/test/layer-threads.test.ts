import { runNodeScript } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';

// Ending a Worker while it registers koffi's addon aborts the whole process: a layer
// thread closed before it got a layer (another lane failed first) must wait for its
// modules. Run in a child so an abort is a failed status, not a lost test worker.
describe('LayerThread', () => {
  it('closes cleanly however soon after it started', () => {
    const src = new URL('../src/layer-threads.ts', import.meta.url).href;
    // Closed at once and at a few points of its ~100 ms load: close() waits for the
    // thread's word that its modules are in, and must not hang on it.
    const script = `
      import { LayerThread } from ${JSON.stringify(src)};
      for (let batch = 0; batch < 3; batch++) {
        await Promise.all(Array.from({ length: 8 }, async (_, i) => {
          const t = new LayerThread();
          await new Promise((r) => setTimeout(r, (batch * 8 + i) * 5));
          await t.close();
        }));
      }`;
    expect(runNodeScript(script)).toEqual({ status: 0, signal: null, stderr: '' });
  });
});
