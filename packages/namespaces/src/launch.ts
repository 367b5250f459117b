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
