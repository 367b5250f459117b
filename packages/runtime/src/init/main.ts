// The container's init: started by the launcher inside the new namespaces as
// `node main.ts <sync fd>`. Every module is imported here, before pivot_root, because
// afterwards the host's files are gone.
import { receive, send, toWire } from './channel.ts';
import { setupContainer, startProgram } from './order.ts';

const syncFd = Number(process.argv[2]);
let started: ReturnType<typeof setupContainer>;
let boot: ReturnType<typeof receive>;
try {
  boot = receive(syncFd);
} catch {
  // The runtime died before handing over the container: there is nothing to set up.
  process.exit(1);
}
if (boot.type !== 'bootstrap') process.exit(1);
try {
  started = setupContainer(boot, syncFd);
  send(syncFd, { type: 'ready' });
} catch (e) {
  send(syncFd, { type: 'error', error: toWire(e) });
  process.exit(1);
}
try {
  startProgram(boot, started.program, started.fifoPath);
} catch (e) {
  process.stderr.write(`ctr init: ${(e as Error).message}\n`);
  process.exit(127);
}
