// Runs in a child Node process (a filter cannot be removed once installed): compiles
// the profile given as JSON, installs it on this main thread, then probes.
// usage: node --conditions=source install-child.ts PROFILE_JSON PROBE [ARGS...]
//   probe mkdir DIR          prints {"mkdir": "ok" | errno code}
//   probe notify DIR         sends the listener fd, closes it, then mkdir as above
//   probe exec PROGRAM ARGS  execve's the program (filter inherited)
import { closeSync, mkdirSync, rmdirSync } from 'node:fs';
import { compileSeccomp, installSeccomp, sendListenerFd } from '../../src/index.ts';

const [profileJson, probe, ...rest] = process.argv.slice(2);
const program = compileSeccomp(JSON.parse(profileJson!));
const listener = installSeccomp(program);

function mkdir(dir: string): string {
  try {
    mkdirSync(dir);
    rmdirSync(dir);
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

if (probe === 'mkdir') {
  process.stdout.write(`${JSON.stringify({ mkdir: mkdir(rest[0]!), listener })}\n`);
} else if (probe === 'notify') {
  sendListenerFd(program.listener!.path, listener!, {
    pid: process.pid,
    state: { ociVersion: '1.2.0', id: 'test', status: 'creating', pid: process.pid, bundle: '/' },
    metadata: program.listener!.metadata,
  });
  closeSync(listener!);
  process.stdout.write(`${JSON.stringify({ mkdir: mkdir(rest[0]!) })}\n`);
} else if (probe === 'exec') {
  process.execve!(rest[0]!, rest);
}
