import { CtrError } from '@ctr/sys';
import type { Hook, HookName } from './bundle.ts';
import { envRecord } from './env.ts';
import type { OciState } from './store.ts';

/** How a hook is spawned: `args[0]` is its argv[0] (as for execv), and exactly its `env`. */
export function hookInvocation(hook: Hook): { args: string[]; argv0: string; env: Record<string, string> } {
  const [argv0, ...args] = hook.args ?? [hook.path];
  return { args, argv0: argv0 ?? hook.path, env: envRecord(hook.env) };
}

/**
 * Runs one OCI hook: `path` with `args` (args[0] is argv[0], as for execv) and
 * exactly `env`, the container's state JSON on stdin, killed after `timeout` seconds.
 */
export function runHook(name: HookName, hook: Hook, state: OciState): Promise<void> {
  return new Promise((resolve, reject) => {
    const { args, argv0, env } = hookInvocation(hook);
    // Taken here, not imported: node:child_process loads Node's net and stream
    // modules, ~2 ms of every `ctr run`, and most runs have no hook.
    const { spawn } = process.getBuiltinModule('node:child_process');
    const child = spawn(hook.path, args, {
      argv0,
      env,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    let timedOut = false;
    const timer =
      hook.timeout !== undefined && hook.timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, hook.timeout * 1000)
        : undefined;
    const fail = (hint: string, cause?: unknown) =>
      reject(new CtrError({ stage: 'runtime', op: `${name} hook ${hook.path}`, hint, cause }));
    child.on('error', (e) => {
      clearTimeout(timer);
      fail((e as Error).message, e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) fail(`timed out after ${hook.timeout}s`);
      else if (code === 0) resolve();
      else
        fail(
          `${signal ? `killed by ${signal}` : `exit status ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`,
        );
    });
    // A hook that does not read its stdin must not fail the write.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(state));
  });
}

/** Runs the hooks of one kind in order; the first failure stops them and is thrown. */
export async function runHooks(
  name: HookName,
  hooks: readonly Hook[] | undefined,
  state: OciState,
): Promise<void> {
  for (const hook of hooks ?? []) await runHook(name, hook, state);
}
