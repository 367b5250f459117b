import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsCommand, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { create, deleteContainer, list, run, runFast } from '../src/index.ts';
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
