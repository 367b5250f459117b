// The process an `exec` runs: a runtime-spec `process` object from --process, or the
// container's own process with runc exec's flag overrides.
import { readFileSync } from 'node:fs';
import { type LinuxCapabilities, type Process, parseProcess } from '@ctr/spec';
import { CtrError } from '@ctr/sys';

/** runc exec's flags that change the container's process. */
export interface ExecOverrides {
  args: string[];
  /** KEY=VALUE entries added to (or replacing in) the container's environment. */
  env?: string[];
  cwd?: string;
  /** "uid[:gid]", numeric as in runc. */
  user?: string;
  additionalGids?: number[];
  /** Capabilities added to the bounding, effective, permitted and ambient sets. */
  caps?: string[];
  noNewPrivileges?: boolean;
  tty?: boolean;
}

/** Reads and validates a `process.json`; the error names every JSON path. */
export function loadProcessFile(path: string): Process {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CtrError({ stage: 'spec', op: 'read the exec process file', path, cause });
  }
  const parsed = parseProcess(text);
  if (!parsed.ok) {
    throw new CtrError({
      stage: 'spec',
      op: `invalid process file ${path}`,
      hint: parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    });
  }
  return parsed.value;
}

const CAP_SETS = ['bounding', 'effective', 'permitted', 'ambient'] as const;

/** The container's process with the overrides applied, as runc exec builds it. */
export function execProcessFrom(base: Process, o: ExecOverrides): Process {
  if (o.args.length === 0) {
    throw new CtrError({
      stage: 'runtime',
      op: 'exec',
      hint: 'name the command to run, or pass --process FILE',
    });
  }
  const p: Process = structuredClone(base);
  p.args = o.args;
  delete p.commandLine;
  if (o.env?.length) p.env = mergeEnv(p.env ?? [], o.env);
  if (o.cwd !== undefined) p.cwd = o.cwd;
  if (o.user !== undefined)
    p.user = {
      ...parseUser(o.user, p.user.gid),
      ...(p.user.umask !== undefined ? { umask: p.user.umask } : {}),
    };
  if (o.additionalGids?.length) p.user.additionalGids = o.additionalGids;
  if (o.caps?.length) {
    const caps: LinuxCapabilities = p.capabilities ?? {};
    for (const set of CAP_SETS) {
      const have = new Set(caps[set] ?? []);
      for (const c of o.caps)
        have.add(c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);
      caps[set] = [...have];
    }
    p.capabilities = caps;
  }
  if (o.noNewPrivileges) p.noNewPrivileges = true;
  p.terminal = o.tty ?? false;
  return p;
}

function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const e of [...base, ...extra]) {
    const eq = e.indexOf('=');
    byKey.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  return [...byKey.values()];
}

function parseUser(spec: string, defaultGid: number): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (!m) {
    throw new CtrError({
      stage: 'runtime',
      op: `exec --user ${spec}`,
      hint: 'give numeric ids, uid or uid:gid (names are resolved by the caller, as with runc)',
    });
  }
  return { uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : defaultGid };
}
