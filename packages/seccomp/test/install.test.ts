// Filters installed for real in child processes: denied syscalls fail with the
// configured errno, allowed ones work, the Docker default profile confines a shell,
// and a NOTIFY listener reaches its supervisor.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BUSYBOX, makeTmp, needsCommand, needsPath, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSeccompProfile, type LinuxSeccomp } from '../src/index.ts';

const CHILD = join(import.meta.dirname, 'helpers/install-child.ts');
const dir = makeTmp('ctr-seccomp-install-');
afterAll(() => removeTmp(dir));

function child(profile: LinuxSeccomp, ...args: string[]) {
  return spawnSync(process.execPath, ['--conditions=source', CHILD, JSON.stringify(profile), ...args], {
    encoding: 'utf8',
    cwd: dir,
  });
}

const denyMkdir = (errnoRet: number): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet }],
});

describe.runIf(runnable('installing seccomp filters', needsRoot()))('installSeccomp', () => {
  it('makes a denied syscall fail with the configured errno', () => {
    const r = child(denyMkdir(18), 'mkdir', join(dir, 'denied'));
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ mkdir: 'EXDEV' });
  });

  it('kills the process with SIGSYS for KILL_PROCESS and lets LOG through', () => {
    const kill = child(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }],
      },
      'mkdir',
      join(dir, 'killed'),
    );
    expect(kill.signal).toBe('SIGSYS');
    expect(kill.stdout).toBe('');
    const log = child(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_LOG' }],
      },
      'mkdir',
      join(dir, 'logged'),
    );
    expect(JSON.parse(log.stdout)).toEqual({ mkdir: 'ok' });
  });

  it('compares arguments: only the matching mode is denied', () => {
    // mkdirSync passes mode 0o777.
    const denyMode = (mode: number): LinuxSeccomp => ({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['mkdir'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 18,
          args: [{ index: 1, value: mode, op: 'SCMP_CMP_EQ' }],
        },
        {
          names: ['mkdirat'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 18,
          args: [{ index: 2, value: mode, op: 'SCMP_CMP_EQ' }],
        },
        { names: ['kexec_load'], action: 'SCMP_ACT_KILL_PROCESS' },
      ],
    });
    expect(JSON.parse(child(denyMode(0o700), 'mkdir', join(dir, 'a')).stdout)).toEqual({ mkdir: 'ok' });
    expect(JSON.parse(child(denyMode(0o777), 'mkdir', join(dir, 'b')).stdout)).toEqual({ mkdir: 'EXDEV' });
  });

  it.runIf(runnable('Docker default profile in a shell', needsPath(BUSYBOX, 'busybox-static')))(
    'confines a busybox shell with the Docker default profile',
    () => {
      const script =
        'echo hello; unshare -m true; echo unshare=$?; mkdir /tmp/ctr-seccomp-$$ && rmdir /tmp/ctr-seccomp-$$ && echo mkdir=ok';
      const r = child(defaultSeccompProfile(), 'exec', BUSYBOX, 'sh', '-c', script);
      expect(r.stdout).toBe('hello\nunshare=1\nmkdir=ok\n');
      expect(r.stderr).toMatch(/Operation not permitted/);
    },
  );

  it.runIf(runnable('seccomp without privileges', needsCommand('setpriv', 'util-linux')))(
    'refuses to install without no_new_privs or CAP_SYS_ADMIN (EACCES)',
    () => {
      // setpriv drops every capability and leaves no_new_privs unset.
      const r = spawnSync(
        'setpriv',
        [
          '--inh-caps=-all',
          '--bounding-set=-all',
          '--',
          process.execPath,
          '--conditions=source',
          CHILD,
          JSON.stringify(denyMkdir(1)),
          'mkdir',
          dir,
        ],
        { encoding: 'utf8', cwd: dir },
      );
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/seccomp: install the filter: EACCES — set no_new_privs first/);
    },
  );

  it.runIf(runnable('seccomp user notification', needsPath('/usr/bin/python3', 'Debian python3')))(
    'sends the NOTIFY listener fd with the container state to listenerPath',
    async () => {
      const socket = join(dir, 'agent.sock');
      const agent = spawn(
        '/usr/bin/python3',
        [join(import.meta.dirname, 'helpers/seccomp-agent.py'), socket],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const agentDone = new Promise((resolve) => agent.on('close', resolve));
      let agentOut = '';
      agent.stdout.setEncoding('utf8');
      agent.stdout.on('data', (d: string) => {
        agentOut += d;
      });
      const ready = new Promise<void>((resolve) => {
        const onData = () => {
          if (agentOut.includes('listening\n')) {
            agent.stdout.off('data', onData);
            resolve();
          }
        };
        agent.stdout.on('data', onData);
      });
      await ready;
      const profile: LinuxSeccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: socket,
        listenerMetadata: 'agent-metadata',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
      };
      const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        const c = spawn(
          process.execPath,
          ['--conditions=source', CHILD, JSON.stringify(profile), 'notify', join(dir, 'n')],
          {
            cwd: dir,
          },
        );
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => {
          stdout += d;
        });
        c.stderr.on('data', (d) => {
          stderr += d;
        });
        c.on('close', () => resolve({ stdout, stderr }));
      });
      await agentDone;
      expect(r.stderr).toBe('');
      const received = JSON.parse(agentOut.split('\n')[1]!);
      expect(received.fd).toBe('anon_inode:seccomp notify');
      expect(received.message).toMatchObject({
        fds: ['seccompFd'],
        metadata: 'agent-metadata',
        state: { id: 'test' },
      });
      expect(received.message.pid).toBe(received.message.state.pid);
      // The agent closed the listener without answering: the kernel fails the call.
      expect(JSON.parse(r.stdout)).toEqual({ mkdir: 'ENOSYS' });
    },
  );
});
