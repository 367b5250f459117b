import {
  normalizeCapability,
  parseEnvFlag,
  parseSize,
  parseVolume,
  type RunImageOptions,
  readEnvFile,
  runImage,
  type SeccompChoice,
} from '@ctr/containers';
import { openStore } from '@ctr/image';
import { parsePlatform } from '@ctr/registry';
import { readSeccompProfile } from '@ctr/seccomp';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';

const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);
const lookup = (k: string) => process.env[k];

export default defineCommand({
  summary: 'pull an image if missing and run it as a container',
  usage: 'run [options] IMAGE [COMMAND [ARG...]]',
  details: `Secure by default: podman's default capabilities, the default seccomp profile,
masked and read-only kernel paths, no new privileges, a new network namespace with
only loopback (--network none).

  --rm                   remove the container when it exits
  -d, --detach           run in the background and print the container id
  -i, --interactive      keep stdin attached        -t, --tty   allocate a terminal
  --name NAME            name the container
  -e, --env KEY[=VALUE]  set a variable              --env-file FILE
  -w, --workdir DIR      working directory           -u, --user USER[:GROUP]
  --entrypoint CMD       replace the image's entrypoint
  -v, --volume SRC:DST[:ro]   bind-mount a host directory
  --read-only            read-only root filesystem   --hostname NAME
  --network none|host    (default none)
  --memory SIZE  --cpus N  --pids-limit N
  --cap-add CAP  --cap-drop CAP   (ALL for every capability)
  --security-opt seccomp=FILE|unconfined, --security-opt no-new-privileges[=false]
  --privileged           every capability, no seccomp, unmasked /proc and /sys (loud)
  --platform OS/ARCH[/VARIANT]
  --store DIR            image store (default $CTR_STORE or /var/lib/ctr)
  --flat                 a plain copied root instead of an overlay snapshot
  --plain-http, --skip-verify   registry transport opt-ins for the pull`,
  options: {
    rm: { type: 'boolean' },
    detach: { type: 'boolean', short: 'd' },
    interactive: { type: 'boolean', short: 'i' },
    tty: { type: 'boolean', short: 't' },
    name: { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    'env-file': { type: 'string', multiple: true },
    workdir: { type: 'string', short: 'w' },
    user: { type: 'string', short: 'u' },
    entrypoint: { type: 'string' },
    volume: { type: 'string', short: 'v', multiple: true },
    'read-only': { type: 'boolean' },
    hostname: { type: 'string' },
    network: { type: 'string' },
    memory: { type: 'string', short: 'm' },
    cpus: { type: 'string' },
    'pids-limit': { type: 'string' },
    'cap-add': { type: 'string', multiple: true },
    'cap-drop': { type: 'string', multiple: true },
    'security-opt': { type: 'string', multiple: true },
    privileged: { type: 'boolean' },
    platform: { type: 'string' },
    store: { type: 'string' },
    flat: { type: 'boolean' },
    'plain-http': { type: 'boolean' },
    'skip-verify': { type: 'boolean' },
  },
  positionals: true,
  stopAtPositional: true,
  async run({ values: v, positionals, globals }) {
    const [ref, ...args] = positionals;
    if (!ref) throw new CtrError({ stage: 'cli', op: 'container run', hint: 'name the image to run' });
    const network = (v.network as string | undefined) ?? 'none';
    if (network !== 'none' && network !== 'host') {
      throw new CtrError({
        stage: 'cli',
        op: `--network ${network}`,
        hint: 'ctr has no network stage yet: use none or host',
      });
    }
    let seccomp: SeccompChoice = { kind: 'default' };
    let noNewPrivileges = true;
    for (const opt of list(v['security-opt'])) {
      if (opt === 'seccomp=unconfined') seccomp = { kind: 'unconfined' };
      else if (opt.startsWith('seccomp='))
        seccomp = { kind: 'profile', profile: readSeccompProfile(opt.slice(8)) };
      else if (opt === 'no-new-privileges' || opt === 'no-new-privileges=true') noNewPrivileges = true;
      else if (opt === 'no-new-privileges=false') noNewPrivileges = false;
      else
        throw new CtrError({
          stage: 'cli',
          op: `--security-opt ${opt}`,
          hint: 'supported: seccomp=FILE|unconfined, no-new-privileges[=false]',
        });
    }
    if (v.privileged) {
      process.stderr.write(
        'ctr: WARNING: --privileged: every capability, no seccomp filter, /proc and /sys unmasked and writable; the container can take over this host\n',
      );
    }
    const env = [
      ...list(v['env-file']).flatMap((f) => readEnvFile(f, lookup)),
      ...list(v.env).flatMap((e) => parseEnvFlag(e, lookup) ?? []),
    ];
    const pidsLimit = v['pids-limit'] === undefined ? undefined : Number(v['pids-limit']);
    if (pidsLimit !== undefined && !Number.isInteger(pidsLimit)) {
      throw new CtrError({
        stage: 'cli',
        op: `--pids-limit ${v['pids-limit']}`,
        hint: 'expected an integer',
      });
    }
    const opts: RunImageOptions = {
      ref,
      store: openStore(v.store as string | undefined),
      runtimeRoot: globals.root,
      args: args.length > 0 ? args : undefined,
      entrypoint: v.entrypoint === undefined ? undefined : [v.entrypoint as string],
      env,
      workdir: v.workdir as string | undefined,
      user: v.user as string | undefined,
      volumes: list(v.volume).map(parseVolume),
      readOnly: v['read-only'] === true,
      hostname: v.hostname as string | undefined,
      network,
      memoryBytes: v.memory === undefined ? undefined : parseSize('--memory', v.memory as string),
      cpus: v.cpus as string | undefined,
      pidsLimit,
      capAdd: list(v['cap-add']).map(normalizeCapability),
      capDrop: list(v['cap-drop']).map(normalizeCapability),
      seccomp,
      noNewPrivileges,
      privileged: v.privileged === true,
      tty: v.tty === true,
      interactive: v.interactive === true,
      name: v.name as string | undefined,
      rm: v.rm === true,
      detach: v.detach === true,
      rootMode: v.flat ? 'flat' : 'overlay',
      platform: v.platform === undefined ? undefined : parsePlatform(v.platform as string),
      pull: { clientOptions: { plainHttp: v['plain-http'] === true, skipVerify: v['skip-verify'] === true } },
      warn: (m) => process.stderr.write(`ctr: warning: ${m}\n`),
      // ctr exits right after: its own thread can be the one sacrificed to the namespaces.
      launchOn: 'calling-thread',
    };
    const { meta, status } = await runImage(opts);
    if (opts.detach) process.stdout.write(`${meta.id}\n`);
    return status;
  },
});
