/** A counting semaphore: at most `size` holders at once, the rest wait in order. */
export class Limiter {
  readonly size: number;
  #active = 0;
  #waiting: (() => void)[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${size}`);
    this.size = size;
  }

  /** Waits for a slot; the returned function gives it back (calling it twice is harmless). */
  async acquire(): Promise<() => void> {
    if (this.#active >= this.size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    };
  }
}
