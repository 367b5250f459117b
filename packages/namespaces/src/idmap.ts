import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { CtrError, namespaceId, stageError } from '@ctr/sys';
import type { UserNamespacePlan } from './plan.ts';
import type { IdRange, LinuxIdMapping, NamespacesHost } from './types.ts';

// linux/user_namespace.h: UID_GID_MAP_MAX_EXTENTS since Linux 4.15.
const MAX_EXTENTS = 340;
const ID_LIMIT = 2 ** 32 - 1;

const mapError = (kind: string, hint: string, index?: number) =>
  new CtrError({
    stage: 'namespaces',
    op: `validate linux.${kind}Mappings${index === undefined ? '' : `[${index}]`}`,
    hint,
  });

/**
 * Checks uid or gid mappings the way the kernel and newuidmap will: sizes and ranges
 * fit in 32 bits, no two extents overlap on either side, and a caller that is not root
 * maps only its own id or its subordinate ids. Errors name the JSON path of the entry.
 */
export function validateIdMappings(
  kind: 'uid' | 'gid',
  mappings: LinuxIdMapping[],
  ownId: number,
  subordinate: IdRange[],
): void {
  if (mappings.length > MAX_EXTENTS) throw mapError(kind, `at most ${MAX_EXTENTS} mappings are allowed`);
  for (const [i, m] of mappings.entries()) {
    for (const v of [m.containerID, m.hostID, m.size]) {
      if (!Number.isInteger(v) || v < 0 || v > ID_LIMIT) {
        throw mapError(kind, `ids and size must be integers within 0..${ID_LIMIT}`, i);
      }
    }
    if (m.size === 0) throw mapError(kind, 'size must be at least 1', i);
    // The kernel refuses ranges that wrap or touch (uid_t)-1, the "no id" marker.
    if (m.containerID + m.size > ID_LIMIT || m.hostID + m.size > ID_LIMIT) {
      throw mapError(kind, `the range runs past ${ID_LIMIT - 1}`, i);
    }
    for (const [j, n] of mappings.entries()) {
      if (j <= i) continue;
      if (overlaps(m.containerID, m.size, n.containerID, n.size)) {
        throw mapError(kind, `mappings ${i} and ${j} overlap in the container (containerID)`, j);
      }
      if (overlaps(m.hostID, m.size, n.hostID, n.size)) {
        throw mapError(kind, `mappings ${i} and ${j} overlap on the host (hostID)`, j);
      }
    }
    if (ownId !== 0) {
      const own = m.hostID === ownId && m.size === 1;
      const allowed = subordinate.some((r) => m.hostID >= r.start && m.hostID + m.size <= r.start + r.count);
      if (!own && !allowed) {
        throw mapError(
          kind,
          `host ${kind}s ${m.hostID}..${m.hostID + m.size - 1} are neither yours (${ownId}) nor in your /etc/sub${kind}`,
          i,
        );
      }
    }
  }
}

/** The host id that container id `id` maps to, or undefined when no mapping covers it. */
export function hostIdOf(mappings: readonly LinuxIdMapping[], id: number): number | undefined {
  const m = mappings.find((e) => id >= e.containerID && id < e.containerID + e.size);
  return m === undefined ? undefined : m.hostID + (id - m.containerID);
}

const overlaps = (a: number, al: number, b: number, bl: number) => a < b + bl && b < a + al;

/** Parses /etc/subuid or /etc/subgid and returns the ranges of a user (by name or id). */
export function parseSubordinateIds(text: string, user: string, id: number): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who === undefined || start === undefined || count === undefined) continue;
    if (who !== user && who !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** The calling process's ids and subordinate id ranges. */
export function readNamespacesHost(): NamespacesHost {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const name = uid === 0 ? 'root' : userInfo().username;
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    uid,
    gid,
    subuids: parseSubordinateIds(read('/etc/subuid'), name, uid),
    subgids: parseSubordinateIds(read('/etc/subgid'), name, gid),
  };
}

const mapText = (m: LinuxIdMapping[]) => m.map((e) => `${e.containerID} ${e.hostID} ${e.size}\n`).join('');

/**
 * Writes the uid and gid maps of the user namespace process `pid` is in (from the
 * parent, which stays in the outer namespace), directly as root or through
 * newuidmap/newgidmap otherwise. setgroups is written first when it must be denied.
 */
export function writeIdMaps(pid: number, user: Extract<UserNamespacePlan, { mode: 'create' }>): void {
  const step = (op: string, path: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      throw stageError({
        stage: 'namespaces',
        op,
        path,
        cause: e,
        hint:
          (e as NodeJS.ErrnoException).code === 'EPERM'
            ? 'the map was already written, or the ids are not yours to map (check /etc/subuid and /etc/subgid)'
            : undefined,
      });
    }
  };
  if (user.helpers) {
    // Taken here, not imported: node:child_process loads Node's net and stream
    // modules (~2 ms), and only rootless maps need the helpers.
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    const args = (m: LinuxIdMapping[]) => [
      String(pid),
      ...m.flatMap((e) => [e.containerID, e.hostID, e.size].map(String)),
    ];
    step('newgidmap', `/proc/${pid}/gid_map`, () => execFileSync('newgidmap', args(user.gidMappings)));
    step('newuidmap', `/proc/${pid}/uid_map`, () => execFileSync('newuidmap', args(user.uidMappings)));
    return;
  }
  if (user.setgroups === 'deny') {
    step('write setgroups', `/proc/${pid}/setgroups`, () => writeFileSync(`/proc/${pid}/setgroups`, 'deny'));
  }
  // One write(2) per file: the kernel accepts a map exactly once.
  step('write gid_map', `/proc/${pid}/gid_map`, () =>
    writeFileSync(`/proc/${pid}/gid_map`, mapText(user.gidMappings)),
  );
  step('write uid_map', `/proc/${pid}/uid_map`, () =>
    writeFileSync(`/proc/${pid}/uid_map`, mapText(user.uidMappings)),
  );
}

/**
 * Resolves once process `pid` has left the caller's user namespace (unshare(1) has
 * run), so its maps can be written; rejects after `timeoutMs` or if it exits first.
 */
export async function waitForUserNamespace(pid: number, timeoutMs = 10_000): Promise<void> {
  const own = namespaceId('thread-self', 'user');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let id: bigint;
    try {
      id = namespaceId(pid, 'user');
    } catch (e) {
      throw stageError({
        stage: 'namespaces',
        op: 'wait for the user namespace',
        path: `/proc/${pid}/ns/user`,
        cause: e,
        hint: 'the launcher exited before creating the user namespace (is util-linux unshare installed?)',
      });
    }
    if (id !== own) return;
    if (Date.now() > deadline) {
      throw new CtrError({
        stage: 'namespaces',
        op: 'wait for the user namespace',
        path: `/proc/${pid}/ns/user`,
        hint: `process ${pid} did not create its user namespace within ${timeoutMs} ms`,
      });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}
