// Errors that cross a pipe (from the init or the exec helper) or a thread boundary
// (from the fast launcher's thread) as JSON, and become CtrErrors again on this side.
import { CtrError } from '@ctr/sys';
import type { WireError } from './init/protocol.ts';

export function toWire(e: unknown): WireError {
  if (e instanceof CtrError) {
    return { message: e.message, stage: e.stage, op: e.op, path: e.path, errno: e.errno, hint: e.hint };
  }
  return { message: e instanceof Error ? e.message : String(e) };
}

/** A structured error the init, the exec helper or the launching thread sent. */
export function fromWire(e: WireError): CtrError {
  return new CtrError({
    stage: (e.stage as CtrError['stage']) ?? 'runtime',
    op: e.op ?? e.message,
    path: e.path,
    errno: e.errno,
    hint: e.hint,
  });
}
