import { readFileSync } from 'node:fs';
import { CtrError, stageError } from '@ctr/sys';
import type { NamespacesPlan } from './plan.ts';

/**
 * The command that starts `file args` in the plan's namespaces: unchanged, or behind
 * the util-linux helpers (unshare(1), nsenter(1)) that make or join the user
 * namespace or set time offsets, which a Node thread cannot do itself.
 */
export function launchCommand(
  plan: NamespacesPlan,
  file: string,
  args: readonly string[],
): [string, string[]] {
  const [head, ...rest] = plan.launcher;
  if (head === undefined) return [file, [...args]];
  return [head, [...rest, file, ...args]];
}

/**
 * The pid that runs the command of a process started with launchCommand: the process
 * itself, or, when the helper forks (unshare --fork, so the command is PID 1 of the new
 * pid namespace), its only child, found through /proc/<pid>/task/<pid>/children once
 * the fork has happened. That child is the one to signal, to place in a cgroup and to
 * report in a container's state; the helper only waits for it and mirrors its exit.
 */
export async function waitForLaunchedProcess(
  plan: NamespacesPlan,
  pid: number,
  timeoutMs = 10_000,
): Promise<number> {
  if (!plan.launcher.includes('--fork')) return pid;
  const path = `/proc/${pid}/task/${pid}/children`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let children: string;
    try {
      children = readFileSync(path, 'utf8');
    } catch (cause) {
      throw stageError({
        stage: 'namespaces',
        op: 'find the process unshare(1) forked',
        path,
        cause,
        hint: 'the launcher exited before it forked the command',
      });
    }
    const child = Number.parseInt(children, 10);
    if (Number.isInteger(child) && child > 0) return child;
    if (procState(pid) === 'Z' || Date.now() > deadline) {
      throw new CtrError({
        stage: 'namespaces',
        op: 'find the process unshare(1) forked',
        path,
        hint: `process ${pid} ${procState(pid) === 'Z' ? 'exited' : `did not fork within ${timeoutMs} ms`}`,
      });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}
