// The body of a sacrificial thread. It changes its own thread for good (namespaces,
// root, ids) and is discarded afterwards; it never returns to a pool.
import { spawn } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';
import { CtrError } from '@ctr/sys';
import { applyNamespaces } from './apply.ts';
import { waitForUserNamespace, writeIdMaps } from './idmap.ts';
import { launchCommand } from './launch.ts';
import type { WorkerMessage, WorkerRequest } from './thread.ts';

const post = (m: WorkerMessage) => parentPort?.postMessage(m);

function serialize(e: unknown): WorkerMessage {
  if (e instanceof CtrError) {
    return {
      type: 'error',
      error: {
        message: e.message,
        ctr: { stage: e.stage, op: e.op, path: e.path, errno: e.errno, hint: e.hint },
      },
    };
  }
  return { type: 'error', error: { message: e instanceof Error ? e.message : String(e) } };
}

async function runModule(module: string, data: unknown): Promise<unknown> {
  const mod = (await import(module)) as { default?: (data: unknown) => unknown };
  if (typeof mod.default !== 'function') {
    throw new CtrError({
      stage: 'namespaces',
      op: 'load thread module',
      path: module,
      hint: 'the module must export a default function',
    });
  }
  return await mod.default(data);
}

async function main(req: WorkerRequest): Promise<void> {
  if (req.type === 'run') {
    post({ type: 'result', value: await runModule(req.module, req.data) });
    return;
  }
  applyNamespaces(req.plan);
  if (req.prepare) await runModule(req.prepare.module, req.prepare.data);
  const [file, args] = launchCommand(req.plan, req.file, req.args);
  const user = req.plan.user?.mode === 'create' ? req.plan.user : undefined;
  const stdio: (number | 'inherit' | 'ignore' | 'pipe')[] = [...req.stdio];
  const syncFd = req.syncFd === 'none' ? undefined : (req.syncFd ?? Math.max(3, stdio.length));
  if (user && syncFd !== undefined) {
    while (stdio.length < syncFd) stdio.push('ignore');
    stdio[syncFd] = 'pipe';
  }
  const child = spawn(file, args, {
    stdio,
    env: req.env ?? process.env,
    cwd: req.cwd,
    detached: req.detached,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new CtrError({
          stage: 'namespaces',
          op: `spawn ${file}`,
          errno: e.errno === undefined ? undefined : Math.abs(e.errno),
          hint: e.message,
        }),
      ),
    );
  });
  const exit = new Promise<WorkerMessage>((resolve) =>
    child.once('exit', (code, signal) => resolve({ type: 'exit', code, signal })),
  );
  if (user) {
    try {
      await waitForUserNamespace(child.pid!);
      writeIdMaps(child.pid!, user);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    if (syncFd !== undefined) (child.stdio[syncFd] as NodeJS.WritableStream).end('1');
  }
  post({ type: 'spawned', pid: child.pid! });
  post(await exit);
}

main(workerData as WorkerRequest).then(
  () => process.exit(0),
  (e) => {
    post(serialize(e));
    process.exit(1);
  },
);
