import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLONE,
  close,
  namespaceId,
  namespaceType,
  O,
  openat,
  openNamespace,
  SysError,
  setdomainname,
  sethostname,
  setns,
  unshare,
} from '../src/index.ts';
import { thrown } from './thrown.ts';

const dir = makeTmp();
afterAll(() => removeTmp(dir));

describe('namespace ids and types', () => {
  it('reads the namespace inode of a task', () => {
    expect(namespaceId('self', 'mnt')).toBe(BigInt(statSync('/proc/self/ns/mnt').ino));
    expect(namespaceId(process.pid, 'net')).toBe(namespaceId('thread-self', 'net'));
    expect(thrown(() => namespaceId(0x7ffffff, 'uts')).code).toBe('ENOENT');
  });

  it('tells the type of an nsfs file and refuses anything else', () => {
    const fd = openat(-100, '/proc/self/ns/ipc', O.RDONLY);
    expect(namespaceType(fd)).toBe(CLONE.NEWIPC);
    close(fd);
    writeFileSync(join(dir, 'fake'), '');
    const err = thrown(() => openNamespace(join(dir, 'fake'), CLONE.NEWNET));
    expect(err).toBeInstanceOf(SysError);
    expect(err.message).toMatch(/not a namespace file/);
    expect(thrown(() => openNamespace('/proc/self/ns/net', CLONE.NEWUTS)).message).toMatch(
      /it is a net namespace, not a uts namespace/,
    );
  });
});

describe.runIf(runnable('unshare and setns on the test thread', needsRoot()))('unshare and setns', () => {
  // vitest runs each test file in its own process, so this thread may keep what it unshares.
  it('gives the calling thread a new UTS namespace with its own names', () => {
    const host = namespaceId('thread-self', 'uts');
    const hostFd = openNamespace('/proc/thread-self/ns/uts', CLONE.NEWUTS);
    const hostName = readFileSync('/proc/sys/kernel/hostname', 'utf8');
    unshare(CLONE.NEWUTS);
    expect(namespaceId('thread-self', 'uts')).not.toBe(host);
    sethostname('ctr-sys-test');
    setdomainname('ctr.test');
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe('ctr-sys-test');
    expect(readFileSync('/proc/sys/kernel/domainname', 'utf8').trim()).toBe('ctr.test');
    // Back to the host's namespace: its name never changed.
    setns(hostFd, CLONE.NEWUTS);
    close(hostFd);
    expect(namespaceId('thread-self', 'uts')).toBe(host);
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8')).toBe(hostName);
  });

  it('explains why a Node thread cannot create or join a user namespace', () => {
    const err = thrown(() => unshare(CLONE.NEWUSER));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(/^sys: unshare: EINVAL — a user namespace needs a single-threaded caller/);
    const fd = openNamespace('/proc/self/ns/user', CLONE.NEWUSER);
    expect(thrown(() => setns(fd, CLONE.NEWUTS)).code).toBe('EINVAL');
    close(fd);
    expect(thrown(() => sethostname('x'.repeat(100))).code).toBe('EINVAL');
  });
});
