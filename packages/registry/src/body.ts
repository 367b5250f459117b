import type { Readable } from 'node:stream';
import { RegistryError } from './errors.ts';

/** Reads a response body as text, refusing more than `limit` bytes. */
export async function readLimited(res: { body: Readable }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) {
      discard(res);
      throw new RegistryError({
        kind: 'too-large',
        op: 'read a response body',
        hint: `the body is larger than ${limit} bytes`,
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Drops a response body early. undici reports a body destroyed without an error as
 * an AbortError 'error' event, which nobody else listens to here.
 */
export function discard(res: {
  body: { on(event: 'error', f: () => void): unknown; destroy(): unknown };
}): void {
  res.body.on('error', () => {});
  res.body.destroy();
}
