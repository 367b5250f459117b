import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a manager's command line to completion. Async on purpose: the registry and the
 * containerd daemon this file's tests talk to are served by other processes, but the
 * runner's own timers must keep going while a manager waits on ctr.
 */
export function runTool(cmd: string, args: string[], timeoutMs = 120_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** `s` as one word of a POSIX shell command line. */
export const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs a command line on a fresh pseudo-terminal (util-linux script), as a user typing
 * it would: what `podman run -it` and `ctr run -t` need to allocate a console.
 */
export function runInTerminal(argv: string[]): Promise<ToolResult> {
  return runTool('script', ['-qec', argv.map(shellQuote).join(' '), '/dev/null']);
}

/** Throws with the whole output when a manager command did not exit 0. */
export function ok(what: string, r: ToolResult): string {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

// What ctr says while a runtime feature is still missing: the runtime's typed
// "not implemented / not supported yet" errors, or the CLI's answer to a command it
// does not have.
const RUNTIME_GAP = /not implemented yet|not supported by ctr yet|not available yet|unknown command "(\w+)"/;

/**
 * When a manager failed because ctr lacks the feature (and only then), the reason to
 * print for a skipped test; any other failure is the test's to report. `feature`
 * matches ctr's own errors about a feature still being built (terminals).
 */
export function runtimeGap(r: ToolResult, feature?: RegExp): string | undefined {
  if (r.code === 0) return undefined;
  const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => RUNTIME_GAP.test(l) || feature?.test(l));
  return line?.trim();
}
