import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { BUSYBOX } from '@ctr/testkit';
import type { Cgroup } from '../src/index.ts';

/** A cgroup path no other test run (ours or another engineer's) uses. */
export function uniquePath(tag: string): string {
  return `/ctr-test-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export interface Started {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `busybox sh -c script` that waits on stdin until it has been placed in
 * the cgroup, so nothing it does runs outside.
 */
export async function startInside(cg: Cgroup, script: string, cwd?: string): Promise<Started> {
  const child = spawn(BUSYBOX, ['sh', '-c', `read _; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'], cwd });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  cg.addProcess(child.pid!);
  child.stdin.write('\n');
  return { child, pid: child.pid!, output: () => out, exited };
}

/** Polls until `check` returns true; fails with `what` after 10 s. */
export async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Kills and removes what a test made, whatever state it was left in. */
export async function cleanup(cgs: Cgroup[]): Promise<void> {
  for (const cg of cgs.splice(0)) {
    if (!cg.plan.dirs.some((d) => existsSync(d.path))) continue;
    try {
      if (cg.state() !== 'thawed') await cg.thaw();
      await cg.killAll();
    } catch {}
    await cg.delete();
  }
}
