// A process joining a running container (`exec`): started by the launcher as
// `node exec-main.ts <sync fd>` in the container's namespaces but the mount one.
// Every module is imported here, before the mount namespace changes, because
// afterwards the host's files are gone.
import { setDumpable } from '@ctr/sys';
import { receive, send, toWire } from './channel.ts';
import { joinContainer } from './join.ts';
import { execProgram } from './program.ts';

// Unlike a new init, this process lives among the container's processes while it is
// still Node with the runtime's privileges: non-dumpable, its /proc entries (root,
// cwd, fds, exe) are closed to them, as runc's nsexec does. execve makes the program
// dumpable again.
setDumpable(false);

const syncFd = Number(process.argv[2]);
let boot: ReturnType<typeof receive>;
try {
  boot = receive(syncFd);
} catch {
  process.exit(1);
}
if (boot.type !== 'exec') process.exit(1);
let program: ReturnType<typeof joinContainer>;
try {
  program = joinContainer(boot, syncFd);
  send(syncFd, { type: 'ready' });
} catch (e) {
  send(syncFd, { type: 'error', error: toWire(e) });
  process.exit(1);
}
try {
  execProgram(program, boot.preserveFds);
} catch (e) {
  process.stderr.write(`ctr exec: ${(e as Error).message}\n`);
  process.exit(127);
}
