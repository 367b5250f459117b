// `ctr container exec NAME COMMAND…`: a new process inside a running image-run
// container, found by name or id prefix.
import { state } from '@ctr/runtime';
import { CtrError } from '@ctr/sys';
import type { ContainerMeta } from './records.ts';

export interface ExecContainerOptions {
  runtimeRoot?: string | undefined;
  args: string[];
}

/** Runs `args` in the container and returns its exit status. */
export async function execContainer(meta: ContainerMeta, opts: ExecContainerOptions): Promise<number> {
  if (opts.args.length === 0) {
    throw new CtrError({ stage: 'containers', op: `exec in ${meta.name}`, hint: 'name the command to run' });
  }
  let status = 'stopped';
  try {
    status = state({ id: meta.id, ...(opts.runtimeRoot ? { root: opts.runtimeRoot } : {}) }).status;
  } catch {
    // No runtime state: never started or already deleted.
  }
  if (status !== 'running') {
    throw new CtrError({
      stage: 'containers',
      op: `exec in ${meta.name}`,
      hint: `it is ${status}; exec needs a running container (ctr container ls)`,
    });
  }
  // Joining the namespaces, cgroup, capabilities and seccomp filter of a running init
  // is the runtime's exec operation, which @ctr/runtime does not export yet.
  throw new CtrError({
    stage: 'containers',
    op: `exec in ${meta.name}`,
    hint: 'the runtime cannot join a running container yet; use runc exec with --root meanwhile',
  });
}
