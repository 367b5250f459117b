import { CtrError } from '@ctr/sys';
import type { GlobalOptions } from '../../command.ts';
import { logLine } from '../../log.ts';

/** The flags `create` and `run` share, as runc names them. */
export const createFlags = {
  bundle: { type: 'string', short: 'b' },
  'console-socket': { type: 'string' },
  'pid-file': { type: 'string' },
  'no-pivot': { type: 'boolean' },
  'no-new-keyring': { type: 'boolean' },
  'preserve-fds': { type: 'string' },
} as const;

/** The one container id a command takes. */
export function containerId(positionals: string[], usage: string): string {
  const id = positionals[0];
  if (id === undefined || id === '') {
    throw new CtrError({ stage: 'cli', op: 'container id cannot be empty', hint: `usage: ctr ${usage}` });
  }
  return id;
}

/** The create options common to `create` and `run`, from parsed flags. */
export function createOptions(values: Record<string, unknown>, id: string, globals: GlobalOptions) {
  const preserveFds = parsePreserveFds(values['preserve-fds'] as string | undefined);
  return {
    root: globals.root,
    id,
    bundle: (values.bundle as string | undefined) ?? '.',
    pidFile: values['pid-file'] as string | undefined,
    consoleSocket: values['console-socket'] as string | undefined,
    noPivot: values['no-pivot'] === true,
    noNewKeyring: values['no-new-keyring'] === true,
    preserveFds,
    // ctr exits right after: its own thread can be the one sacrificed to the namespaces.
    launchOn: 'calling-thread' as const,
  };
}

/** --preserve-fds N: how many fds after stdio pass into the container. */
export function parsePreserveFds(text: string | undefined): number {
  const n = text === undefined ? 0 : Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new CtrError({
      stage: 'cli',
      op: `invalid --preserve-fds ${text}`,
      hint: 'a count of fds after stdio',
    });
  }
  return n;
}

/** Refuses the global flags ctr does not implement, with runc's meaning in the hint. */
export function checkGlobals(globals: GlobalOptions): void {
  if (globals.systemdCgroup) {
    throw new CtrError({
      stage: 'cli',
      op: '--systemd-cgroup',
      hint: 'systemd cgroup management is not supported; ctr manages cgroupfs directly',
    });
  }
  if (globals.rootless === 'true') {
    throw new CtrError({
      stage: 'cli',
      op: '--rootless',
      hint: 'rootless containers are not supported yet; run as root',
    });
  }
}

/** Logs a warning (a failed poststart or poststop hook) in runc's log format. */
export const warner = (globals: GlobalOptions) => (message: string) => logLine(globals, 'warning', message);
