// `ctr container …` end to end: a real docker-registry, a busybox image pushed with
// @ctr/registry, the real kernel. Every test gets its own store, snapshots, records
// and runtime root, so nothing one test leaves can make another pass.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '@ctr/registry';
import {
  type BuiltImage,
  busyboxImage,
  makeTmp,
  needsCommand,
  needsRoot,
  pushBuiltImage,
  type RegistryServer,
  removeTmp,
  runnable,
  startRegistry,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../src/bin.ts', import.meta.url).pathname;
const tmp = makeTmp('ctr-cli-containers-');
let registry: RegistryServer;
let image: string;
/** The same busybox with StopSignal SIGUSR1. */
let usr1Image: string;

async function push(ref: string, built: BuiltImage): Promise<void> {
  const colon = ref.lastIndexOf(':');
  await pushBuiltImage(
    new RegistryClient({ plainHttp: true }),
    ref.slice(0, colon),
    ref.slice(colon + 1),
    built,
  );
}

let sandboxes = 0;

/** Fresh CTR_STORE/CTR_SNAPSHOTS/CTR_CONTAINERS/--root dirs and a ctr bound to them. */
function sandbox() {
  const dir = join(tmp, `s${++sandboxes}`);
  const paths = {
    dir,
    store: join(dir, 'store'),
    snapshots: join(dir, 'snapshots'),
    containers: join(dir, 'containers'),
    root: join(dir, 'run'),
  };
  mkdirSync(dir);
  let calls = 0;
  /**
   * stdout and stderr are files: a detached container inherits them, and a pipe it
   * holds open would keep spawnSync waiting.
   */
  const ctrWithStdin = (stdin: 'ignore' | number, args: string[]) => {
    const out = join(dir, `out.${++calls}`);
    const err = join(dir, `err.${calls}`);
    const fds = [openSync(out, 'w'), openSync(err, 'w')] as const;
    const r = spawnSync(process.execPath, ['--conditions=source', '--', bin, '--root', paths.root, ...args], {
      stdio: [stdin, fds[0], fds[1]],
      env: {
        ...process.env,
        CTR_STORE: paths.store,
        CTR_SNAPSHOTS: paths.snapshots,
        CTR_CONTAINERS: paths.containers,
      },
      timeout: 60_000,
    });
    closeSync(fds[0]);
    closeSync(fds[1]);
    return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  };
  const ctr = (...args: string[]) => ctrWithStdin('ignore', args);
  const run = (...args: string[]) => ctrWithStdin('ignore', ['container', 'run', '--plain-http', ...args]);
  const runWithStdin = (stdin: number, ...args: string[]) =>
    ctrWithStdin(stdin, ['container', 'run', '--plain-http', ...args]);
  return { ...paths, ctr, run, runWithStdin };
}

beforeAll(async () => {
  if (!runnable('ctr container end to end', needsRoot(), needsCommand('docker-registry'))) return;
  registry = await startRegistry();
  image = `${registry.host}/e2e/busybox:1`;
  usr1Image = `${registry.host}/e2e/busybox:usr1`;
  await push(image, await busyboxImage());
  await push(usr1Image, await busyboxImage({ config: { StopSignal: 'SIGUSR1' } }));
});

afterAll(async () => {
  await registry?.stop();
  removeTmp(tmp);
});

const status = (out: string, field: string) => new RegExp(`^${field}:\\s*(\\S+)$`, 'm').exec(out)?.[1];
const capBits = (names: number[]) => names.reduce((m, b) => m | (1n << BigInt(b)), 0n);
// CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP
const DEFAULT_CAP_BITS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31];
const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4]?.startsWith(dir));

describe.runIf(runnable('ctr container end to end', needsRoot(), needsCommand('docker-registry')))(
  'ctr container',
  // Each ctr call starts Node and a container; on a shared two-core machine a dozen of them take minutes.
  { timeout: 300_000 },
  () => {
    it('pulls a missing image, passes the exit status through, and --rm leaves nothing', () => {
      const s = sandbox();
      const r = s.run('--rm', image, 'sh', '-c', 'grep :memory: /proc/self/cgroup; exit 7');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(7);
      expect(s.ctr('images').stdout).toContain('e2e/busybox');
      const cgroup = /:memory:(\/ctr\/[0-9a-f]{64})$/m.exec(r.stdout)?.[1];
      expect(cgroup).toBeDefined();
      expect(existsSync(`/sys/fs/cgroup/memory${cgroup}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/pids${cgroup}`)).toBe(false);
      expect(readdirSync(s.containers)).toEqual([]);
      expect(s.ctr('list', '-q').stdout).toBe('');
      expect(mountsUnder(s.dir)).toEqual([]);
      expect(s.ctr('container', 'ls', '-a', '-q').stdout).toBe('');
    });

    it('runs detached, lists, stops with StopSignal then SIGKILL, refuses a used name, removes', () => {
      const s = sandbox();
      const out = join(s.dir, 'out');
      mkdirSync(out);
      // PID 1 ignores SIGTERM without a handler: only the SIGKILL after the timeout stops it.
      const stubborn = s.run('-d', '--name', 'stubborn', image, 'sleep', '1000');
      expect(stubborn.stderr).toBe('');
      expect(stubborn.status).toBe(0);
      const id = stubborn.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const polite = s.run(
        '-d',
        '--name',
        'polite',
        '-v',
        `${out}:/out`,
        usr1Image,
        'sh',
        '-c',
        'trap "echo usr1 > /out/signal; exit 0" USR1; echo up > /out/ready; while :; do sleep 0.1; done',
      );
      expect(polite.status).toBe(0);

      const dup = s.run('-d', '--name', 'stubborn', image, 'true');
      expect(dup.status).toBe(1);
      expect(dup.stderr).toContain('the name is in use');

      const table = s.ctr('container', 'ls').stdout.split('\n');
      expect(table[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+NAMES$/);
      expect(table).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${id.slice(0, 12)}\\s+\\S+e2e/busybox:1\\s+sleep 1000\\s+.+ago\\s+running\\s+stubborn$`,
          ),
        ),
      );
      const json = JSON.parse(s.ctr('container', 'ps', '--format', 'json').stdout) as { name: string }[];
      expect(json.map((c) => c.name).sort()).toEqual(['polite', 'stubborn']);

      const refused = s.ctr('container', 'rm', 'stubborn');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('it is running; stop it first or use rm -f');

      for (let i = 0; i < 200 && !existsSync(join(out, 'ready')); i++) spawnSync('sleep', ['0.05']);
      expect(s.ctr('container', 'stop', '-t', '20', 'polite').status).toBe(0);
      expect(readFileSync(join(out, 'signal'), 'utf8')).toBe('usr1\n');
      expect(s.ctr('container', 'stop', '-t', '1', id.slice(0, 8)).status).toBe(0);
      expect(s.ctr('container', 'ls', '-q').stdout).toBe('');
      expect(s.ctr('container', 'ls', '-a').stdout).toMatch(/stopped\s+stubborn/);

      expect(s.ctr('container', 'rm', 'stubborn', 'polite').status).toBe(0);
      expect(s.ctr('container', 'ls', '-a', '-q').stdout).toBe('');
      expect(readdirSync(s.containers)).toEqual([]);
      expect(mountsUnder(s.dir)).toEqual([]);
      expect(s.ctr('container', 'rm', 'stubborn').stderr).toContain('no such container');
    });

    it('applies -e, --env-file, -w, -u, --entrypoint, --hostname, --network none and -i', () => {
      const s = sandbox();
      const envFile = join(s.dir, 'env');
      writeFileSync(envFile, '# comment\nFROM_FILE=yes\n\nCTR_E2E_PASSED\n');
      const r = spawnSyncWithEnv(s, { CTR_E2E_PASSED: 'through' }, [
        '--rm',
        '-e',
        'A=1',
        '--env-file',
        envFile,
        '-w',
        '/tmp',
        '-u',
        '1000:1000',
        '--hostname',
        'box',
        '--entrypoint',
        '/bin/sh',
        image,
        '-c',
        'echo "$A $FROM_FILE $CTR_E2E_PASSED"; pwd; id -u; id -g; hostname; ls /sys/class/net',
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n')).toEqual(['1 yes through', '/tmp', '1000', '1000', 'box', 'lo', '']);

      const input = join(s.dir, 'stdin');
      writeFileSync(input, 'typed in\n');
      const stdin = openSync(input, 'r');
      try {
        const attached = s.runWithStdin(stdin, '--rm', '-i', image, 'cat');
        expect(attached.stdout).toBe('typed in\n');
      } finally {
        closeSync(stdin);
      }
      // Without -i the program reads /dev/null, not the caller's stdin.
      const detachedStdin = openSync(input, 'r');
      try {
        expect(s.runWithStdin(detachedStdin, '--rm', image, 'cat').stdout).toBe('');
      } finally {
        closeSync(detachedStdin);
      }
    });

    it('shares the host network with --network host and refuses other networks', () => {
      const s = sandbox();
      const r = s.run('--rm', '--network', 'host', image, 'ls', '/sys/class/net');
      expect(r.stdout.trim().split(/\s+/).sort()).toEqual(readdirSync('/sys/class/net').sort());
      const bridge = s.run('--rm', '--network', 'bridge', image, 'true');
      expect(bridge.status).toBe(1);
      expect(bridge.stderr).toContain('use none or host');
    });

    it('binds volumes read-write and read-only, and --read-only makes the root read-only', () => {
      const s = sandbox();
      const rw = join(s.dir, 'rw');
      const ro = join(s.dir, 'ro');
      mkdirSync(rw);
      mkdirSync(ro);
      writeFileSync(join(ro, 'given'), 'host data\n');
      const r = s.run(
        '--rm',
        '--read-only',
        '-v',
        `${rw}:/rw`,
        '--volume',
        `${ro}:/ro:ro`,
        image,
        'sh',
        '-c',
        'echo written > /rw/f; cat /ro/given; echo no > /ro/f 2>/dev/null || echo ro-refused; touch /etc/x 2>/dev/null || echo root-refused',
      );
      expect(r.stdout).toBe('host data\nro-refused\nroot-refused\n');
      expect(readFileSync(join(rw, 'f'), 'utf8')).toBe('written\n');
      expect(existsSync(join(ro, 'f'))).toBe(false);
      const writable = s.run('--rm', image, 'sh', '-c', 'touch /etc/x && echo root-writable');
      expect(writable.stdout).toBe('root-writable\n');
    });

    it('puts --memory, --pids-limit and --cpus into the cgroup', () => {
      const s = sandbox();
      const r = s.run(
        '--rm',
        '--memory',
        '64m',
        '--pids-limit',
        '33',
        '--cpus',
        '0.5',
        image,
        'sh',
        '-c',
        // The container's own cgroup is what it sees at /sys/fs/cgroup/<controller>;
        // the host's tree, with other containers in it, is not there.
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us; ls /sys/fs/cgroup/memory/ctr 2>&1 >/dev/null | wc -l',
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n')).toEqual([String(64 * 1024 * 1024), '33', '50000', '1', '']);
    });

    it('keeps the default capabilities, applies --cap-add/--cap-drop, and --privileged gets all', () => {
      const s = sandbox();
      const grep = ['sh', '-c', 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status'];
      const def = s.run('--rm', image, ...grep).stdout;
      expect(BigInt(`0x${status(def, 'CapEff')}`)).toBe(capBits(DEFAULT_CAP_BITS));
      expect(status(def, 'NoNewPrivs')).toBe('1');
      expect(status(def, 'Seccomp')).toBe('2');

      const changed = s.run(
        '--rm',
        '--cap-add',
        'net_admin',
        '--cap-drop',
        'CAP_CHOWN',
        image,
        ...grep,
      ).stdout;
      expect(BigInt(`0x${status(changed, 'CapEff')}`)).toBe(
        capBits([...DEFAULT_CAP_BITS.filter((b) => b !== 0), 12]),
      );
      const none = s.run('--rm', '--cap-drop', 'ALL', image, ...grep).stdout;
      expect(status(none, 'CapEff')).toBe('0000000000000000');

      const priv = s.run('--rm', '--privileged', image, ...grep);
      expect(priv.stderr).toContain('WARNING: --privileged');
      // Every capability ctr itself may pass on (a confined host lacks some).
      const own = readFileSync('/proc/self/status', 'utf8');
      const all = BigInt(`0x${status(own, 'CapBnd')}`) & BigInt(`0x${status(own, 'CapPrm')}`);
      expect(BigInt(`0x${status(priv.stdout, 'CapEff')}`)).toBe(all);
      expect(status(priv.stdout, 'NoNewPrivs')).toBe('0');
      expect(status(priv.stdout, 'Seccomp')).toBe('0');
    });

    it('blocks unshare and mount with the default seccomp profile; seccomp=unconfined lifts it', () => {
      const s = sandbox();
      // CAP_SYS_ADMIN is granted so only the filter can be what refuses.
      const probe = [
        'sh',
        '-c',
        'unshare -U true 2>/dev/null; echo unshare=$?; mkdir /m; mount -t tmpfs t /m 2>/dev/null; echo mount=$?',
      ];
      const filtered = s.run('--rm', '--cap-add', 'SYS_ADMIN', image, ...probe);
      expect(filtered.stdout).toBe('unshare=1\nmount=1\n');
      const unconfined = s.run(
        '--rm',
        '--cap-add',
        'SYS_ADMIN',
        '--security-opt',
        'seccomp=unconfined',
        image,
        ...probe,
      );
      expect(unconfined.stdout).toBe('unshare=0\nmount=0\n');
      const bad = s.run('--rm', '--security-opt', 'apparmor=x', image, 'true');
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('supported: seccomp=FILE|unconfined');
    });

    it('gives the same root with --flat as with an overlay snapshot', () => {
      const s = sandbox();
      const look = [
        'sh',
        '-c',
        'cd / && find bin etc usr sbin -exec stat -c "%n %a %u %g %F %N" {} + | sort | md5sum; find bin etc -type f -exec md5sum {} + | sort | md5sum; grep " / / " /proc/self/mountinfo | tail -n1 | sed "s/.* - //" | cut -d" " -f1',
      ];
      const overlay = s.run('--rm', image, ...look).stdout.split('\n');
      const flat = s.run('--rm', '--flat', image, ...look).stdout.split('\n');
      expect(overlay.slice(0, 2)).toEqual(flat.slice(0, 2));
      expect(overlay[2]).toBe('overlay');
      expect(flat[2]).not.toBe('overlay');
    });

    it('names a missing image, a bad flag and an unsupported -t -d clearly, and leaves nothing', () => {
      const s = sandbox();
      const missing = s.run('--rm', `${registry.host}/e2e/absent:1`, 'true');
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/^ctr: registry: .*e2e\/absent.*/m);
      const flag = s.ctr('container', 'run', '--no-such-flag', image);
      expect(flag.status).toBe(2);
      expect(flag.stderr).toContain("Unknown option '--no-such-flag'");
      expect(flag.stderr).toContain('Usage: ctr container run');
      const memory = s.run('--memory', 'lots', image, 'true');
      expect(memory.status).toBe(1);
      expect(memory.stderr).toContain('parse --memory "lots"');
      const stopTime = s.ctr('container', 'stop', '-t', 'soon', 'any');
      expect(stopTime.status).toBe(1);
      expect(stopTime.stderr).toContain('expected seconds to wait before SIGKILL');
      const tty = s.run('-t', '-d', image, 'true');
      expect(tty.status).toBe(1);
      expect(tty.stderr).toContain('run -d without -t');
      expect(readdirSync(s.containers)).toEqual([]);
      expect(mountsUnder(s.dir)).toEqual([]);
    });

    it('documents the image-level run beside the runc-compatible one', () => {
      const s = sandbox();
      expect(s.ctr('help').stdout).toMatch(
        /container\s+podman-style: container run IMAGE.*\(ctr run ID runs a bundle\)/,
      );
      const help = s.ctr('container', '--help');
      expect(help.stdout).toContain('run IMAGE [COMMAND [ARG...]]');
      expect(help.stdout).toContain('exec NAME COMMAND');
      const runHelp = s.ctr('container', 'run', '--help');
      expect(runHelp.stdout).toContain('--security-opt seccomp=FILE|unconfined');
    });
  },
);

/** `ctr container run` with extra variables in ctr's own environment (bare -e/--env-file keys). */
function spawnSyncWithEnv(s: ReturnType<typeof sandbox>, extra: Record<string, string>, args: string[]) {
  const saved = Object.fromEntries(Object.keys(extra).map((k) => [k, process.env[k]]));
  Object.assign(process.env, extra);
  try {
    return s.run(...args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
