// The container's init: started by the launcher inside the new namespaces as
// `node main.ts <sync fd>`. Every module is imported here, before pivot_root, because
// afterwards the host's files are gone.
import { flushCompileCache } from 'node:module';
import { serveBootstrap } from './channel.ts';
import { setupContainer, startProgram } from './order.ts';

// Node writes its compile cache when a process exits, by path; the init never exits
// (it becomes the program) and leaves the host's files at pivot_root: write it now.
flushCompileCache();

serveBootstrap('bootstrap', setupContainer, (boot, started) =>
  startProgram(boot, started.program, started.fifoPath),
);
