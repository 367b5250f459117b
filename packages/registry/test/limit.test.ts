import { describe, expect, it } from 'vitest';
import { Limiter } from '../src/limit.ts';

describe('Limiter', () => {
  it('lets at most `size` holders in, in arrival order', async () => {
    const limiter = new Limiter(2);
    const order: string[] = [];
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    const c = limiter.acquire().then((release) => {
      order.push('c');
      return release;
    });
    const d = limiter.acquire().then((release) => {
      order.push('d');
      return release;
    });
    await Promise.resolve();
    expect(order).toEqual([]);
    a();
    a();
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(['c', 'd']);
  });

  it('rejects a size below one', () => {
    expect(() => new Limiter(0)).toThrow(RangeError);
  });
});
