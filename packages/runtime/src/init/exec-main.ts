// A process joining a running container (`exec`): started by the launcher as
// `node exec-main.ts <sync fd>` in the container's namespaces but the mount one.
// Every module is imported here, before the mount namespace changes, because
// afterwards the host's files are gone.
import { flushCompileCache } from 'node:module';
import { setDumpable } from '@ctr/sys';
import { serveBootstrap } from './channel.ts';
import { joinContainer } from './join.ts';
import { execProgram } from './program.ts';

// Unlike a new init, this process lives among the container's processes while it is
// still Node with the runtime's privileges: non-dumpable, its /proc entries (root,
// cwd, fds, exe) are closed to them, as runc's nsexec does. execve makes the program
// dumpable again.
setDumpable(false);
// Node writes its compile cache when a process exits, by path; this one never exits
// (it becomes the program) and leaves the host's files when it joins the mount
// namespace: write it now.
flushCompileCache();
serveBootstrap('exec', joinContainer, (boot, program) => execProgram(program, boot.preserveFds));
