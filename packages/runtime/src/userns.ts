// The runtime's half of a container with a user namespace. No Node process can make
// one (Node is never single-threaded), so unshare(1) makes it in front of the init
// (@ctr/namespaces plans that); the runtime, still in the host's namespace, writes
// the maps, and the init becomes the namespace's root when the bootstrap arrives.
import { hostIdOf, type NamespacesPlan, waitForUserNamespace, writeIdMaps } from '@ctr/namespaces';
import { CtrError } from '@ctr/sys';

/**
 * Joining a user namespace by path is refused: nsenter(1) would have to make the init
 * that namespace's root before exec, and the maps needed to place the state files
 * belong to another process.
 */
export function refuseUserNamespaceJoin(plan: NamespacesPlan): void {
  if (plan.user?.mode !== 'join') return;
  throw new CtrError({
    stage: 'runtime',
    op: 'join the user namespace in linux.namespaces',
    path: plan.user.path,
    hint: 'not supported by the runtime yet: create a new user namespace (no "path") with linux.uidMappings and linux.gidMappings',
  });
}

/**
 * Waits until process `pid` (unshare(1)) has made its user namespace, then writes its
 * uid_map and gid_map from this process, which stays in the host's namespace. Nothing
 * to do without a new user namespace.
 */
export async function writeUserNamespaceMaps(plan: NamespacesPlan, pid: number): Promise<void> {
  if (plan.user?.mode !== 'create') return;
  await waitForUserNamespace(pid);
  writeIdMaps(pid, plan.user);
}

/**
 * The host uid and gid of a container user: the same ids without a user namespace,
 * else what linux.uidMappings and linux.gidMappings map them to. A user the maps do
 * not cover could not run at all (setresuid fails with EINVAL), so it fails `create`
 * here with the JSON path to fix.
 */
export function hostOwner(
  plan: NamespacesPlan,
  user: { uid: number; gid: number },
): { uid: number; gid: number } {
  if (plan.user?.mode !== 'create') return user;
  const ids = {
    uid: hostIdOf(plan.user.uidMappings, user.uid),
    gid: hostIdOf(plan.user.gidMappings, user.gid),
  };
  for (const kind of ['uid', 'gid'] as const) {
    if (ids[kind] === undefined) {
      throw new CtrError({
        stage: 'runtime',
        op: `process.user.${kind}`,
        hint: `${kind} ${user[kind]} is not mapped by linux.${kind}Mappings: map it, or run the process as a mapped ${kind}`,
      });
    }
  }
  return ids as { uid: number; gid: number };
}
