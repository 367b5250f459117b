import type { SysError } from '../src/index.ts';

/** The SysError a call throws; fails the test when it does not throw. */
export const thrown = (f: () => unknown): SysError => {
  try {
    f();
  } catch (e) {
    return e as SysError;
  }
  throw new Error('expected an error');
};
