import { CtrError } from '@ctr/sys';

/** The container does not exist (runc: "container does not exist"). */
export function notExist(id: string): CtrError {
  return new CtrError({
    stage: 'runtime',
    op: `container ${id} does not exist`,
    hint: 'check the id with `ctr list` and the --root directory',
  });
}
