import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';

export default defineCommand({
  summary: 'run a new process inside a running container (not available yet)',
  usage: 'exec [--process FILE] [--tty] [--cwd DIR] [--env K=V] ID [COMMAND ARGS...]',
  options: {
    process: { type: 'string', short: 'p' },
    tty: { type: 'boolean', short: 't' },
    'console-socket': { type: 'string' },
    cwd: { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    user: { type: 'string', short: 'u' },
    'additional-gids': { type: 'string', short: 'g', multiple: true },
    cap: { type: 'string', short: 'c', multiple: true },
    'no-new-privs': { type: 'boolean' },
    detach: { type: 'boolean', short: 'd' },
    'pid-file': { type: 'string' },
    'preserve-fds': { type: 'string' },
  },
  positionals: true,
  async run() {
    throw new CtrError({
      stage: 'runtime',
      op: 'exec',
      hint: 'joining a running container is not implemented yet in ctr; use runc exec meanwhile',
    });
  },
});
