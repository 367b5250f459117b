import type { NamespaceOp, NamespacesPlan } from './plan.ts';

function opLine(op: NamespaceOp): string {
  switch (op.op) {
    case 'join':
      return `setns ${op.type} ${op.path}`;
    case 'unshare':
      return `unshare ${op.types.join(' ')}`;
    case 'sethostname':
      return `sethostname ${JSON.stringify(op.name)}`;
    case 'setdomainname':
      return `setdomainname ${JSON.stringify(op.name)}`;
    case 'become-root':
      return `${op.setgroups ? 'setgroups [] ' : ''}setresgid 0 setresuid 0`;
  }
}

/** The plan as stable, human-readable lines (for `ctr plan`). */
export function formatNamespacesPlan(plan: NamespacesPlan): string[] {
  const lines = plan.thread.map((op) => `thread: ${opLine(op)}`);
  if (plan.launcher.length > 0) lines.push(`launcher: ${plan.launcher.join(' ')} <command>`);
  if (plan.user) {
    if (plan.user.mode === 'create') {
      const maps = (m: { containerID: number; hostID: number; size: number }[]) =>
        m.map((e) => `${e.containerID}:${e.hostID}:${e.size}`).join(',');
      lines.push(
        `parent: ${plan.user.helpers ? 'newuidmap/newgidmap' : 'write'} uid_map ${maps(plan.user.uidMappings)} gid_map ${maps(plan.user.gidMappings)} setgroups ${plan.user.setgroups}`,
        'child: wait for the maps on the sync pipe',
      );
    }
  }
  for (const op of plan.init) lines.push(`init: ${opLine(op)}`);
  return lines;
}
