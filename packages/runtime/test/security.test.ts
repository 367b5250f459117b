import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig } from '@ctr/spec';
import { makeTmp, needsCommand, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { create, deleteContainer, list, run, runFast, start } from '../src/index.ts';
import { makeBundle } from './bundle.ts';

const tmp = makeTmp('ctr-security-');
const root = join(tmp, 'state');
afterAll(async () => {
  for (const c of list({ root })) await deleteContainer({ root, id: c.id, force: true });
  removeTmp(tmp);
});

let n = 0;
/** Runs `script` with sh in a default busybox container; returns its exit status and output. */
async function insideWith(launch: typeof run, script: string): Promise<{ status: number; out: string }> {
  const id = `s${process.pid}-${++n}`;
  const bundle = makeBundle(join(tmp, id), { args: ['sh', '-c', script] });
  const outFile = join(tmp, `${id}.out`);
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(outFile, 'w');
  try {
    const status = await launch({ root, id, bundle, stdio: ['ignore', fd, fd] });
    return { status, out: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

// The same guarantees from both launchers: the init (create + start) and the fast
// path of a foreground run (the program spawned from a sacrificial thread).
describe.runIf(runnable('container isolation', needsRoot())).each([
  ['init launcher', run],
  ['fast launcher', runFast],
])('what a process inside cannot do (%s)', (_name, launch) => {
  const inside = (script: string) => insideWith(launch, script);

  it('inherits no runtime fd: only stdio is open', async () => {
    // $$ is the shell; `; true` keeps it from exec'ing ls, whose own directory fd would show.
    const r = await inside('ls /proc/$$/fd; true');
    expect(r.out.trim().split(/\s+/).sort()).toEqual(['0', '1', '2']);
  });

  it('sees no host process', async () => {
    // The shell execs ls as its last command: PID 1 is the only process there is.
    const r = await inside('ls -d /proc/[0-9]*');
    expect(r.out.trim()).toBe('/proc/1');
  });

  it('cannot reach the Node binary or the runtime after pivot_root', async () => {
    const node = process.execPath;
    const initScript = new URL('../src/init/main.ts', import.meta.url).pathname;
    const r = await inside(
      `test -e ${node} && echo node; test -e ${initScript} && echo init; readlink /proc/1/exe`,
    );
    expect(r.out.trim()).toBe('/bin/busybox');
  });

  it('cannot write to masked or read-only paths', async () => {
    const r = await inside(
      'cat /proc/keys | wc -c; (echo x > /proc/sysrq-trigger) 2>/dev/null && echo wrote; ls /sys/firmware | wc -l',
    );
    expect(r.out.trim().split(/\s+/)).toEqual(['0', '0']);
  });

  it('has dropped capabilities it cannot regain, and no_new_privs', async () => {
    const r = await inside('grep -E "^(CapBnd|CapEff|CapPrm|NoNewPrivs)" /proc/self/status');
    // runc's default set: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE.
    const mask = ((1n << 29n) | (1n << 5n) | (1n << 10n)).toString(16).padStart(16, '0');
    expect(r.out).toContain(`CapBnd:\t${mask}`);
    expect(r.out).toContain(`CapEff:\t${mask}`);
    expect(r.out).toContain('NoNewPrivs:\t1');
  });

  it('runs with the hostname of the config in its own uts namespace', async () => {
    const r = await inside('hostname');
    expect(r.out.trim()).toBe('runc');
  });
});

describe.runIf(runnable('the init binary check', needsRoot(), needsCommand('python3')))(
  'the Node binary of an init',
  () => {
    it('is reached only through a read-only mount, so it can never be opened for writing (CVE-2019-5736)', async () => {
      // Until the program is exec'd the init is Node; a program that is a
      // `#!/proc/self/exe` script would run that Node again inside the container.
      const id = 'exe';
      const bundle = makeBundle(join(tmp, id), { args: ['true'] });
      const { record } = await create({ root, id, bundle, stdio: ['ignore', 'ignore', 'ignore'] });
      try {
        const flags = execFileSync(
          'python3',
          [
            '-c',
            'import os,sys; print(os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY)',
            `/proc/${record.pid}/exe`,
          ],
          { encoding: 'utf8' },
        );
        expect(flags.trim()).toBe(String(1));
      } finally {
        await deleteContainer({ root, id, force: true });
      }
    });
  },
);

/** Whether /proc/<pid>/exe lives on a read-only mount (statvfs ST_RDONLY). */
function exeIsReadOnly(pid: number): boolean {
  const flag = execFileSync(
    'python3',
    ['-c', 'import os,sys; print(os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY)', `/proc/${pid}/exe`],
    { encoding: 'utf8' },
  );
  return flag.trim() === '1';
}

describe.runIf(runnable('a container re-running /proc/self/exe', needsRoot(), needsCommand('python3')))(
  'a program that runs /proc/self/exe again (CVE-2019-5736)',
  () => {
    // The kernel resolves a `#!/proc/self/exe` interpreter in the exec'ing process, so
    // such a program would start the runtime's own Node again, now as a container
    // process that can open its exe. The host's libraries are bound in read-only so
    // that Node can actually run there.
    const libs = ['/lib', '/lib64', '/usr/lib'].filter((d) => existsSync(d));
    const reexecBundle = (id: string, script: string) => {
      const bundle = makeBundle(
        join(tmp, id),
        { args: ['/reexec'] },
        {
          mounts: [
            ...(defaultRuntimeConfig().mounts ?? []),
            ...libs.map((d) => ({
              destination: d,
              type: 'bind',
              source: realpathSync(d),
              options: ['rbind', 'ro', 'nosuid', 'nodev'],
            })),
          ],
        },
      );
      for (const d of libs) mkdirSync(join(bundle, 'rootfs', d), { recursive: true });
      writeFileSync(join(bundle, 'rootfs', 'reexec'), script);
      chmodSync(join(bundle, 'rootfs', 'reexec'), 0o755);
      return bundle;
    };
    const attack = '#!/proc/self/exe\nsetTimeout(() => {}, 20000);\n';

    it('finds only a read-only Node, whichever launcher ran it', async () => {
      const node = statSync(process.execPath);
      for (const [name, launch] of [
        ['init', run],
        ['fast', runFast],
      ] as const) {
        const id = `reexec-${name}`;
        const bundle = reexecBundle(id, attack);
        // Settled whatever happens: a refusal is an answer here, not an unhandled error.
        const running = launch({ root, id, bundle, stdio: ['ignore', 'ignore', 'ignore'] }).catch(() => {});
        let readOnly: boolean | undefined;
        try {
          for (let i = 0; i < 500 && readOnly === undefined; i++) {
            const pid = list({ root }).find((c) => c.id === id)?.pid;
            const exe = pid ? statSync(`/proc/${pid}/exe`, { throwIfNoEntry: false }) : undefined;
            if (exe && exe.dev === node.dev && exe.ino === node.ino) readOnly = exeIsReadOnly(pid!);
            else await new Promise((r) => setTimeout(r, 20));
          }
        } finally {
          for (const c of list({ root }).filter((c) => c.id === id && c.pid)) process.kill(c.pid, 'SIGKILL');
        }
        // Refused up front is fine too (the fast launcher's thread cannot resolve
        // /proc/self from outside the new pid namespace); running as writable Node is not.
        await running;
        expect(readOnly, `${name}: Node never ran in the container`).not.toBe(false);
        await deleteContainer({ root, id, force: true }).catch(() => {});
      }
    });

    it('finds only a read-only Node when the program is swapped after create', async () => {
      const id = 'reexec-swap';
      const bundle = reexecBundle(id, '#!/bin/sh\ntrue\n');
      const { record } = await create({ root, id, bundle, stdio: ['ignore', 'ignore', 'ignore'] });
      try {
        // Whoever can write the root filesystem (a shared volume) swaps it before start.
        writeFileSync(join(bundle, 'rootfs', 'reexec'), attack);
        await start({ root, id });
        // The same file as this Node (the clone's path reads as "/": it is attached nowhere).
        const node = statSync(process.execPath);
        const isNode = () => {
          const exe = statSync(`/proc/${record.pid}/exe`);
          return exe.dev === node.dev && exe.ino === node.ino;
        };
        for (let i = 0; i < 500 && !isNode(); i++) await new Promise((r) => setTimeout(r, 20));
        expect(isNode(), 'the program never became Node').toBe(true);
        expect(exeIsReadOnly(record.pid!)).toBe(true);
      } finally {
        await deleteContainer({ root, id, force: true });
      }
    });
  },
);
