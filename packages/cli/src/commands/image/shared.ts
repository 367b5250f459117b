import { defaultStoreRoot, type ImageStore, openStore } from '@ctr/image';
import { CtrError } from '@ctr/sys';

/** Every image command takes --store: the global flags are fixed, so the flag is per command. */
export const storeOption = { store: { type: 'string' } } as const;

export const storeDetails = `--store DIR is the OCI image layout holding images (default $CTR_STORE, else
/var/lib/ctr); skopeo reads it as oci:DIR:REF and umoci as --layout DIR.`;

export function storeFrom(values: Record<string, unknown>): ImageStore {
  return openStore((values.store as string | undefined) ?? defaultStoreRoot());
}

export function usageError(usage: string): CtrError {
  return new CtrError({ stage: 'cli', op: 'parse arguments', hint: `usage: ctr ${usage}` });
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export const shortDigest = (d: string): string => d.slice(d.indexOf(':') + 1, d.indexOf(':') + 13);

/** Left-aligned columns separated by three spaces, like docker's tables. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
