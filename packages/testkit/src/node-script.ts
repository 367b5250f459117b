import { spawnSync } from 'node:child_process';

export interface NodeScriptResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs an ES module script in a fresh Node that resolves ctr's packages to their
 * sources, as the tests do: a crash of Node itself (an abort) is then a result to
 * check, not a lost test worker.
 */
export function runNodeScript(script: string, timeoutMs = 60_000): NodeScriptResult {
  const r = spawnSync(process.execPath, ['--conditions=source', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}
