/**
 * Bounds on what one layer may make ctr do. A layer is attacker-controlled input:
 * without these a 1 MB gzip can ask for a terabyte of disk or a gigabyte of
 * header memory (decompression bombs, node-tar and tar-stream PAX issues).
 */
export interface UnpackLimits {
  /** Largest single regular file, in bytes. */
  maxEntrySize: number;
  /** Largest uncompressed layer, in bytes (the whole tar stream). */
  maxTotalBytes: number;
  /** Most entries (headers) in one layer. */
  maxEntries: number;
  /** Largest PAX extended header or GNU long name/link record, in bytes. */
  maxPaxHeaderSize: number;
}

export const defaultLimits: UnpackLimits = {
  maxEntrySize: 64 * 2 ** 30,
  maxTotalBytes: 256 * 2 ** 30,
  maxEntries: 2_000_000,
  maxPaxHeaderSize: 1 << 20,
};
