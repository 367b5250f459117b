// The container's init: started by the launcher inside the new namespaces as
// `node main.ts <sync fd>`. Every module is imported here, before pivot_root, because
// afterwards the host's files are gone.
import { serveBootstrap } from './channel.ts';
import { setupContainer, startProgram } from './order.ts';

serveBootstrap('bootstrap', setupContainer, (boot, started) =>
  startProgram(boot, started.program, started.fifoPath),
);
