import type { PullEvent } from '@ctr/image';
import { formatBytes, shortDigest } from './shared.ts';

interface BlobState {
  digest: string;
  size: number;
  bytes: number;
  started: number;
  finished: number;
  state: 'waiting' | 'fetching' | 'done' | 'cached';
}

const BAR = 24;
const FRAME_MS = 100;

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
}

/**
 * Prints pull events: on a TTY one redrawn bar per blob (bytes, rate, ETA), otherwise
 * one plain line per event a log can keep (resolved, start, done).
 */
export function pullReporter(out: NodeJS.WriteStream, now: () => number = Date.now): (e: PullEvent) => void {
  if (!out.isTTY) return (e) => plainLine(out, e);
  const blobs: BlobState[] = [];
  let drawn = 0;
  let lastFrame = 0;
  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - lastFrame < FRAME_MS) return;
    lastFrame = t;
    const lines = blobs.map((b) => barLine(b, t));
    out.write(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
    drawn = lines.length;
  };
  return (e) => {
    switch (e.type) {
      case 'resolved':
        out.write(`${e.ref}: ${e.manifest.digest}\n`);
        for (const b of e.blobs)
          blobs.push({ digest: b.digest, size: b.size, bytes: 0, started: 0, finished: 0, state: 'waiting' });
        draw(true);
        return;
      case 'blob-start': {
        const b = blobs.find((x) => x.digest === e.digest);
        if (b) {
          b.state = 'fetching';
          b.started = now();
        }
        return draw(false);
      }
      case 'blob-progress': {
        const b = blobs.find((x) => x.digest === e.digest);
        if (b) b.bytes = e.bytes;
        return draw(false);
      }
      case 'blob-done': {
        const b = blobs.find((x) => x.digest === e.digest);
        if (b) {
          b.state = e.cached ? 'cached' : 'done';
          b.bytes = b.size;
          b.finished = now();
        }
        return draw(true);
      }
      case 'blob-wait':
      case 'done':
        return;
    }
  };
}

function barLine(b: BlobState, t: number): string {
  const id = shortDigest(b.digest);
  if (b.state === 'waiting') return `${id}  waiting`;
  if (b.state === 'cached') return `${id}  already present  ${formatBytes(b.size)}`;
  const frac = b.size > 0 ? Math.min(1, b.bytes / b.size) : 1;
  const full = Math.round(frac * BAR);
  const bar = `[${'='.repeat(Math.max(0, full - 1))}${full > 0 ? (full === BAR ? '=' : '>') : ''}${' '.repeat(BAR - full)}]`;
  const secs = Math.max(0.001, ((b.state === 'done' ? b.finished : t) - b.started) / 1000);
  const rate = b.bytes / secs;
  const sizes = `${formatBytes(b.bytes)} / ${formatBytes(b.size)}`;
  if (b.state === 'done') return `${id}  ${bar}  ${sizes}  done in ${formatDuration(secs)}`;
  const eta = rate > 0 ? (b.size - b.bytes) / rate : Number.POSITIVE_INFINITY;
  return `${id}  ${bar}  ${sizes}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`;
}

function plainLine(out: NodeJS.WriteStream, e: PullEvent): void {
  switch (e.type) {
    case 'resolved':
      out.write(`resolved ${e.ref} ${e.manifest.digest} ${e.blobs.length} blobs\n`);
      return;
    case 'blob-start':
      out.write(`fetch ${e.kind} ${e.digest} ${e.size}\n`);
      return;
    case 'blob-wait':
      out.write(`wait ${e.digest} (another process is fetching it)\n`);
      return;
    case 'blob-done':
      out.write(`${e.cached ? 'present' : 'done'} ${e.digest}\n`);
      return;
    case 'blob-progress':
    case 'done':
      return;
  }
}
