import { unpackError } from './errors.ts';

/** One range of a user namespace id map (same shape as the runtime spec's). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** Maps file owners of a layer to host ids, for user-namespaced containers. */
export interface IdMap {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** The host id for a container id; ids outside every range are refused. */
export function mapId(id: number, ranges: IdMapping[], what: 'uid' | 'gid', path: string): number {
  for (const r of ranges) {
    if (id >= r.containerID && id < r.containerID + r.size) return r.hostID + (id - r.containerID);
  }
  throw unpackError(
    `map ${what} ${id}`,
    path,
    `${what} ${id} is outside the ${what} mappings; extend the mapping or unpack without one`,
  );
}
