import { constants } from 'node:os';

/** Every stage of ctr: who failed, for error messages and logs. */
export type Stage =
  | 'sys'
  | 'spec'
  | 'registry'
  | 'image'
  | 'unpack'
  | 'namespaces'
  | 'rootfs'
  | 'cgroups'
  | 'capabilities'
  | 'seccomp'
  | 'runtime'
  | 'containers'
  | 'cli';

export interface CtrErrorInit {
  stage: Stage;
  /** What was being done, in words a user recognises: "mount proc on /proc". */
  op: string;
  path?: string | undefined;
  /** errno number, when the failure came from the kernel. */
  errno?: number | undefined;
  /** A likely cause and what to do about it. */
  hint?: string | undefined;
  cause?: unknown;
}

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) {
  if (!errnoNames.has(num)) errnoNames.set(num, name);
}

/** The symbolic name of an errno value ("EPERM"), or "E<n>" for unknown ones. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** The errno value of a symbolic name, e.g. errnoValue('ENOENT') === 2. */
export function errnoValue(name: string): number | undefined {
  return (constants.errno as Record<string, number>)[name];
}

/**
 * The one base error of ctr. Its message reads
 * `rootfs: mount proc on /proc: EPERM — <hint>` so a user can act on it.
 */
export class CtrError extends Error {
  readonly stage: Stage;
  readonly op: string;
  readonly path: string | undefined;
  readonly errno: number | undefined;
  readonly hint: string | undefined;

  constructor(init: CtrErrorInit) {
    const code = init.errno !== undefined ? errnoName(init.errno) : undefined;
    const where = init.path !== undefined && !init.op.includes(init.path) ? ` ${init.path}` : '';
    super(
      `${init.stage}: ${init.op}${where}${code ? `: ${code}` : ''}${init.hint ? ` — ${init.hint}` : ''}`,
      init.cause !== undefined ? { cause: init.cause } : undefined,
    );
    this.name = 'CtrError';
    this.stage = init.stage;
    this.op = init.op;
    this.path = init.path;
    this.errno = init.errno;
    this.hint = init.hint;
  }

  /** The errno name ("EPERM") or undefined. */
  get code(): string | undefined {
    return this.errno !== undefined ? errnoName(this.errno) : undefined;
  }

  /** A plain object for JSON logs and for crossing a process boundary. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      stage: this.stage,
      op: this.op,
      path: this.path,
      errno: this.errno,
      code: this.code,
      hint: this.hint,
    };
  }
}

/** A failed libc call or raw syscall. `op` is the syscall name. */
export class SysError extends CtrError {
  readonly syscall: string;

  constructor(syscall: string, errno: number, path?: string, hint?: string) {
    super({ stage: 'sys', op: syscall, path, errno, hint: hint ?? defaultHint(syscall, errno) });
    this.name = 'SysError';
    this.syscall = syscall;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), syscall: this.syscall };
  }
}

/** Wraps any error as a stage error, keeping the kernel's errno when there is one. */
export function stageError(init: Omit<CtrErrorInit, 'errno'> & { cause?: unknown }): CtrError {
  const errno = init.cause instanceof CtrError ? init.cause.errno : undefined;
  const hint = init.hint ?? (init.cause instanceof CtrError ? init.cause.hint : undefined);
  return new CtrError({ ...init, errno, hint });
}

function defaultHint(syscall: string, errno: number): string | undefined {
  switch (errnoName(errno)) {
    case 'EPERM':
      return `the caller lacks the privilege ${syscall} needs (run as root, or check the capability bounding set and seccomp)`;
    case 'EACCES':
      return 'permission denied by file mode or an LSM';
    case 'ENOENT':
      return 'no such file or directory';
    case 'ENOSYS':
      return `this kernel does not implement ${syscall}`;
    case 'EINVAL':
      return `the kernel rejected the arguments of ${syscall}`;
    case 'EXDEV':
      return 'the path would leave the root it is resolved in (or crosses a mount where that is not allowed)';
    case 'ELOOP':
      return 'too many symlinks, or a symlink where none may be followed';
    case 'EBUSY':
      return 'the resource is in use (a mount point, or a busy device)';
    default:
      return undefined;
  }
}
