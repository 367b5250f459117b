import { appendFileSync } from 'node:fs';
import type { GlobalOptions } from './command.ts';

export type Level = 'debug' | 'info' | 'warning' | 'error';

/**
 * Writes one log line the way runc does, so containerd's shim and conmon, which read
 * the runtime's --log file, understand it: JSON `{"level","msg","time"}` or logrus text.
 */
export function logLine(
  globals: Pick<GlobalOptions, 'log' | 'logFormat' | 'debug'>,
  level: Level,
  msg: string,
): void {
  if (level === 'debug' && !globals.debug) return;
  const time = new Date().toISOString();
  const line =
    globals.logFormat === 'json'
      ? `${JSON.stringify({ level, msg, time })}\n`
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
  if (globals.log) {
    try {
      appendFileSync(globals.log, line);
      return;
    } catch {
      // An unwritable log must not hide the error itself: fall through to stderr.
    }
  }
  if (globals.logFormat === 'json' || level !== 'error') process.stderr.write(line);
}
