import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { detectCgroups } from '../src/index.ts';
import { uniquePath } from './helpers.ts';

const NOBODY = 65534;
const unified = detectCgroups().v2;

describe.runIf(runnable('rootless cgroups', needsRoot(), unified ? undefined : 'no cgroup2 mount'))(
  'rootless: delegated subtrees only',
  () => {
    const tmp = makeTmp('ctr-cg-rootless-');
    chmodSync(tmp, 0o755);
    afterAll(() => removeTmp(tmp));
    const script = join(tmp, 'create.ts');
    writeFileSync(
      script,
      `import { cgroupHostFrom, openCgroup, planCgroup } from '${resolve(import.meta.dirname, '../src/index.ts')}';
const [mount, path] = process.argv.slice(2);
const host = cgroupHostFrom(\`1 1 0:1 / \${mount} rw - cgroup2 cgroup2 rw\\n\`, '0::/\\n', '', process.geteuid() !== 0);
try {
  openCgroup(planCgroup({ cgroupsPath: path }, { containerId: 'r', host })).create();
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, message: e.message }));
}
`,
    );
    chmodSync(script, 0o644);
    /** Runs the script as nobody, the way an unprivileged user would run ctr. */
    const createAsNobody = (path: string): { ok: boolean; message?: string } =>
      JSON.parse(
        execFileSync(process.execPath, ['--conditions=source', script, unified!.mountpoint, path], {
          uid: NOBODY,
          gid: NOBODY,
          cwd: resolve(import.meta.dirname, '..'),
          encoding: 'utf8',
        }),
      );

    it('explains what to delegate when the cgroup is not the caller’s', () => {
      const path = uniquePath('rootless');
      const r = createAsNobody(`${path}/c`);
      expect(r.ok).toBe(false);
      expect(r.message).toContain(`is not delegated to uid ${NOBODY}`);
      expect(r.message).toContain(
        `chown ${NOBODY} ${unified!.mountpoint} ${unified!.mountpoint}/cgroup.procs`,
      );
      expect(existsSync(`${unified!.mountpoint}${path}`)).toBe(false);
    });

    it('creates cgroups inside a subtree delegated to the caller', () => {
      const top = `${unified!.mountpoint}${uniquePath('delegated')}`;
      mkdirSync(top);
      try {
        for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'])
          chownSync(join(top, f), NOBODY, NOBODY);
        const r = createAsNobody(`${top.slice(unified!.mountpoint.length)}/c`);
        expect(r).toEqual({ ok: true });
        expect(statSync(join(top, 'c')).uid).toBe(NOBODY);
      } finally {
        if (existsSync(join(top, 'c'))) rmdirSync(join(top, 'c'));
        rmdirSync(top);
      }
    });
  },
);
