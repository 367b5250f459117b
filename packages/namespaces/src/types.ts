import type { Linux, LinuxIdMapping, LinuxNamespaceType, RuntimeConfig } from '@ctr/spec';

export type { LinuxIdMapping, LinuxNamespace, TimeOffset } from '@ctr/spec';
export type NamespaceType = LinuxNamespaceType;

/**
 * Every namespace type in the order ctr handles them: user first (it owns the others),
 * then as runc joins them. Plans list namespaces in this order whatever the config's.
 */
export const NAMESPACE_ORDER = ['user', 'pid', 'network', 'mount', 'ipc', 'uts', 'cgroup', 'time'] as const;

/** The parts of the runtime config this stage reads; a RuntimeConfig is one. */
export type NamespacesConfig = Pick<RuntimeConfig, 'hostname' | 'domainname'> & {
  linux?: Pick<Linux, 'namespaces' | 'uidMappings' | 'gidMappings' | 'timeOffsets'> | undefined;
};

/** A range of ids a user may map (a line of /etc/subuid or /etc/subgid). */
export interface IdRange {
  start: number;
  count: number;
}

/** Facts about the caller that decide how uid/gid maps can be written. */
export interface NamespacesHost {
  uid: number;
  gid: number;
  /** The caller's subordinate uids and gids (only consulted when uid is not 0). */
  subuids: IdRange[];
  subgids: IdRange[];
}

export type IdMappings = LinuxIdMapping[];
