import { CtrError, setChildSubreaper } from '@ctr/sys';
import { loadBundle } from '../bundle.ts';
import { exitStatus, forwardSignals } from '../foreground.ts';
import { type ConsoleReceiver, openConsoleReceiver } from '../terminal/console-receiver.ts';
import { relayTerminal, type TerminalRelay } from '../terminal/relay.ts';
import { type CreateOptions, createHeld } from './create.ts';
import { deleteContainer } from './delete.ts';
import { start } from './start.ts';

export interface RunOptions extends CreateOptions {
  /** Return once the program runs instead of waiting for it. */
  detach?: boolean;
  /** Keep the stopped container (state) after it exits in the foreground. */
  keep?: boolean;
  /** Do not make this process a subreaper for the container's orphans. */
  noSubreaper?: boolean;
  /**
   * With process.terminal and no console socket this process relays the terminal:
   * whether its stdin goes in too (default true; podman's `-t` without `-i`: false).
   */
  terminalStdin?: boolean;
  warn?: (message: string) => void;
}

/**
 * `run` = create + start; in the foreground it forwards signals to the container,
 * waits for it, deletes it (unless `keep`) and returns its exit status (128+signal
 * when it was killed). With process.terminal and no console socket it takes the pty
 * master itself and relays it to its own stdin and stdout, as runc does.
 */
export async function run(opts: RunOptions): Promise<number> {
  const receiver = relaysTerminal(opts) ? openConsoleReceiver() : undefined;
  try {
    return await runReceiving(opts, receiver);
  } finally {
    receiver?.close();
  }
}

function relaysTerminal(opts: RunOptions): boolean {
  if (opts.consoleSocket !== undefined || !loadBundle(opts.bundle).config.process?.terminal) return false;
  if (opts.detach) {
    // Nobody would hold the master once ctr exits (runc refuses the same).
    throw new CtrError({
      stage: 'runtime',
      op: 'run --detach with process.terminal',
      hint: 'a detached container needs --console-socket to hand its terminal to; or set process.terminal to false',
    });
  }
  return true;
}

async function runReceiving(opts: RunOptions, receiver: ConsoleReceiver | undefined): Promise<number> {
  // Without a pid namespace the program's orphans would leave for the host's init;
  // as subreaper this process stays their parent, as runc does.
  if (!opts.noSubreaper && !opts.detach) setChildSubreaper(true);
  const { record, exited, release } = await createHeld(
    receiver ? { ...opts, consoleSocket: receiver.path } : opts,
  );
  let terminal: TerminalRelay | undefined;
  try {
    // Before start, so the program sees this terminal's size from its first instruction.
    if (receiver) {
      const master = receiver.receive();
      // Its directory goes now rather than after the program: a ctr that dies meanwhile leaves nothing in /tmp.
      receiver.close();
      terminal = relayTerminal(master, { input: opts.terminalStdin ?? true });
    }
    await start({ id: opts.id, root: opts.root, warn: opts.warn });
  } catch (e) {
    terminal?.close();
    await deleteContainer({ id: opts.id, root: opts.root, force: true });
    throw e;
  }
  if (opts.detach) {
    release();
    return 0;
  }
  const unforward = forwardSignals(record.pid!, record.initStartTime!, terminal?.resize);
  let status: number;
  try {
    status = exitStatus(await exited);
    // Deleting kills what is left in the container, which closes the last slave fds.
    if (!opts.keep) await deleteContainer({ id: opts.id, root: opts.root, force: true, warn: opts.warn });
    await terminal?.drained;
  } finally {
    unforward();
    terminal?.close();
  }
  return status;
}
