// `ctr container exec NAME COMMAND…`: a new process inside a running image-run
// container, found by name or id prefix.
import { type CreateOptions, exec, execProcessFrom, state } from '@ctr/runtime';
import { CtrError } from '@ctr/sys';
import type { ContainerMeta } from './records.ts';

export interface ExecContainerOptions {
  runtimeRoot?: string | undefined;
  args: string[];
  /** KEY=VALUE entries added to the container's environment. */
  env?: string[] | undefined;
  /** Working directory inside the container; the container's by default. */
  workdir?: string | undefined;
  /** "uid[:gid]"; the container's user by default. */
  user?: string | undefined;
  /** Give the command a terminal, relayed to this process's own (podman exec -t). */
  tty?: boolean | undefined;
  /** Pass this process's stdin in (podman exec -i); without it the command's stdin is empty. */
  interactive?: boolean | undefined;
  stdio?: CreateOptions['stdio'];
  launchOn?: CreateOptions['launchOn'];
}

/** Runs `args` in the container and returns its exit status. */
export async function execContainer(meta: ContainerMeta, opts: ExecContainerOptions): Promise<number> {
  if (opts.args.length === 0) {
    throw new CtrError({ stage: 'containers', op: `exec in ${meta.name}`, hint: 'name the command to run' });
  }
  const root = opts.runtimeRoot ? { root: opts.runtimeRoot } : {};
  let status = 'stopped';
  try {
    status = state({ id: meta.id, ...root }).status;
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
  const r = await exec({
    id: meta.id,
    ...root,
    process: (base) =>
      execProcessFrom(base, {
        args: opts.args,
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.workdir ? { cwd: opts.workdir } : {}),
        ...(opts.user ? { user: opts.user } : {}),
        tty: opts.tty === true,
      }),
    terminalStdin: opts.interactive === true,
    stdio: opts.stdio ?? [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'],
    ...(opts.launchOn ? { launchOn: opts.launchOn } : {}),
  });
  return r.status ?? 0;
}
