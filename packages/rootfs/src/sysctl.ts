import type { LinuxNamespaceType } from '@ctr/spec';
import { CtrError } from '@ctr/sys';

// The sysctls that belong to a namespace (the same list runc and the kernel's
// ipc/uts/net namespace code agree on). Anything else is global and would change the host.
const IPC_KEYS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** The namespace a sysctl belongs to, or undefined for a host-global one. */
export function sysctlNamespace(key: string): LinuxNamespaceType | undefined {
  if (IPC_KEYS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return 'uts';
  if (key.startsWith('net.')) return 'network';
  return undefined;
}

/**
 * Checks a sysctl key is well formed and belongs to a namespace the container has of
 * its own (`owned`: created new, or joined by path), and returns its /proc/sys path.
 */
export function checkSysctl(key: string, owned: ReadonlySet<LinuxNamespaceType>): string {
  const fail = (hint: string) => new CtrError({ stage: 'rootfs', op: `sysctl ${key}`, hint });
  // Keys name files under /proc/sys; "a/b" and "a.b" are the same key.
  const parts = key.replaceAll('/', '.').split('.');
  if (parts.some((p) => p === '' || !/^[A-Za-z0-9_*:+-]+$/.test(p))) {
    throw fail('a sysctl key is dot-separated words (e.g. net.ipv4.ip_forward)');
  }
  const normal = parts.join('.');
  const ns = sysctlNamespace(normal);
  if (ns === undefined) {
    throw fail('this sysctl is not namespaced: writing it would change the host');
  }
  if (!owned.has(ns)) {
    throw fail(
      `this sysctl belongs to the ${ns} namespace, which the container does not have; add {"type": "${ns}"} to linux.namespaces`,
    );
  }
  return `proc/sys/${parts.join('/')}`;
}
