import { describe, expect, it } from 'vitest';
import {
  formatNamespacesPlan,
  hostIdOf,
  type LinuxNamespace,
  launchCommand,
  type NamespacesConfig,
  parseSubordinateIds,
  planNamespaces,
} from '../src/index.ts';

const ns = (...types: string[]) => types.map((type) => ({ type })) as LinuxNamespace[];

describe('planNamespaces', () => {
  it('unshares every new namespace on the thread, after the joins, then names the uts', () => {
    const plan = planNamespaces({
      hostname: 'box',
      domainname: 'example',
      linux: {
        namespaces: [
          { type: 'uts' },
          { type: 'network', path: '/var/run/netns/a' },
          { type: 'mount' },
          { type: 'pid' },
          { type: 'time' },
        ],
        timeOffsets: { boottime: { secs: 10 }, monotonic: { secs: -5 } },
      },
    });
    expect(plan.thread).toEqual([
      { op: 'join', type: 'network', path: '/var/run/netns/a' },
      { op: 'unshare', types: ['pid', 'mount', 'uts'] },
      { op: 'sethostname', name: 'box' },
      { op: 'setdomainname', name: 'example' },
    ]);
    expect(plan.user).toBeUndefined();
    // Offsets go through /proc/self, which a worker thread cannot use for itself.
    expect(plan.launcher).toEqual(['unshare', '--time', '--boottime', '10', '--monotonic', '-5', '--']);
    expect(formatNamespacesPlan(plan)).toEqual([
      'thread: setns network /var/run/netns/a',
      'thread: unshare pid mount uts',
      'thread: sethostname "box"',
      'thread: setdomainname "example"',
      'launcher: unshare --time --boottime 10 --monotonic -5 -- <command>',
    ]);
    expect(planNamespaces({ linux: { namespaces: [{ type: 'time' }] } }).thread).toEqual([
      { op: 'unshare', types: ['time'] },
    ]);
  });

  it('launches through unshare(1) when there is a new user namespace, so it owns the others', () => {
    const plan = planNamespaces({
      hostname: 'h',
      linux: {
        namespaces: [...ns('user', 'mount', 'pid', 'uts'), { type: 'ipc', path: '/proc/9/ns/ipc' }],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      },
    });
    expect(plan.thread).toEqual([{ op: 'join', type: 'ipc', path: '/proc/9/ns/ipc' }]);
    // unshare(1) execs the child unmapped: it takes root of the namespace once the maps exist.
    expect(plan.init).toEqual([
      { op: 'become-root', setgroups: true },
      { op: 'sethostname', name: 'h' },
    ]);
    expect(plan.user).toMatchObject({ mode: 'create', setgroups: 'allow', helpers: false });
    expect(launchCommand(plan, '/bin/sh', ['-c', 'id'])).toEqual([
      'unshare',
      [
        '--user',
        '--keep-caps',
        '--pid',
        '--mount',
        '--uts',
        '--propagation',
        'unchanged',
        '--fork',
        '--kill-child',
        '--',
        '/bin/sh',
        '-c',
        'id',
      ],
    ]);
    expect(formatNamespacesPlan(plan)).toEqual(
      expect.arrayContaining([
        'parent: write uid_map 0:100000:65536 gid_map 0:100000:65536 setgroups allow',
        'init: setgroups [] setresgid 0 setresuid 0',
      ]),
    );
  });

  it('joins a user namespace with nsenter(1)', () => {
    const plan = planNamespaces({
      linux: { namespaces: [{ type: 'user', path: '/proc/7/ns/user' }, { type: 'uts' }] },
    });
    expect(plan.launcher).toEqual([
      'nsenter',
      '--user=/proc/7/ns/user',
      '--preserve-credentials',
      'unshare',
      '--uts',
      '--',
    ]);
  });

  it('makes an unprivileged caller use newuidmap, or deny setgroups for its own ids', () => {
    const host = {
      uid: 1000,
      gid: 1000,
      subuids: [{ start: 100000, count: 65536 }],
      subgids: [{ start: 100000, count: 65536 }],
    };
    const own = planNamespaces(
      {
        linux: {
          namespaces: ns('user'),
          uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        },
      },
      host,
    );
    expect(own.user).toMatchObject({ setgroups: 'deny', helpers: false });
    const sub = planNamespaces(
      {
        linux: {
          namespaces: ns('user'),
          uidMappings: [
            { containerID: 0, hostID: 1000, size: 1 },
            { containerID: 1, hostID: 100000, size: 65536 },
          ],
          gidMappings: [{ containerID: 0, hostID: 100000, size: 10 }],
        },
      },
      host,
    );
    expect(sub.user).toMatchObject({ setgroups: 'allow', helpers: true });
    expect(() =>
      planNamespaces(
        {
          linux: {
            namespaces: ns('user'),
            uidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
            gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
          },
        },
        host,
      ),
    ).toThrow(/host uids 0..0 are neither yours \(1000\) nor in your \/etc\/subuid/);
  });

  it.each([
    [{ linux: { namespaces: ns('uts', 'uts') } }, /the uts namespace is listed twice/],
    [{ linux: { namespaces: ns('pods') } }, /unknown namespace type "pods"/],
    [{ linux: { namespaces: [{ type: 'network', path: 'netns/a' }] } }, /must be absolute/],
    [{ hostname: 'x', linux: { namespaces: ns('mount') } }, /needs a new uts namespace/],
    [
      { linux: { namespaces: ns('mount'), timeOffsets: { boottime: { secs: 1 } } } },
      /need a new time namespace/,
    ],
    [
      { linux: { namespaces: ns('time'), timeOffsets: { realtime: { secs: 1 } } } },
      /only the monotonic and boottime/,
    ],
    [{ linux: { namespaces: ns('time'), timeOffsets: { boottime: { nanosecs: 1e9 } } } }, /nanosecs within/],
    [{ linux: { uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] } }, /need a new user namespace/],
    [{ linux: { namespaces: ns('user') } }, /needs linux.uidMappings and linux.gidMappings/],
    [
      {
        linux: {
          namespaces: ns('user'),
          uidMappings: [
            { containerID: 0, hostID: 1000, size: 10 },
            { containerID: 5, hostID: 5000, size: 10 },
          ],
          gidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
        },
      },
      /mappings 0 and 1 overlap in the container/,
    ],
    [
      {
        linux: {
          namespaces: ns('user'),
          uidMappings: [
            { containerID: 0, hostID: 1000, size: 10 },
            { containerID: 50, hostID: 1009, size: 10 },
          ],
          gidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
        },
      },
      /mappings 0 and 1 overlap on the host/,
    ],
    [
      {
        linux: {
          namespaces: ns('user'),
          uidMappings: [{ containerID: 0, hostID: 4294967290, size: 10 }],
          gidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
        },
      },
      /runs past/,
    ],
    [
      {
        linux: {
          namespaces: ns('user'),
          uidMappings: [{ containerID: 0, hostID: 0, size: 0 }],
          gidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
        },
      },
      /size must be at least 1/,
    ],
    [
      {
        linux: {
          namespaces: ns('time'),
          timeOffsets: { boottime: { secs: 1, nanosecs: 5 } },
        },
      },
      /takes whole seconds/,
    ],
  ] as [NamespacesConfig, RegExp][])('refuses %j', (config, message) => {
    expect(() => planNamespaces(config)).toThrow(message);
  });

  it('parses /etc/subuid for a user by name or id', () => {
    const text = 'alice:100000:65536\n1000:200000:10\nbob:300000:5\nbroken\n';
    expect(parseSubordinateIds(text, 'alice', 1000)).toEqual([
      { start: 100000, count: 65536 },
      { start: 200000, count: 10 },
    ]);
  });

  it('names the JSON path of the mapping the kernel would refuse', () => {
    const config = {
      linux: {
        namespaces: ns('user'),
        uidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
        gidMappings: [
          { containerID: 0, hostID: 0, size: 1 },
          { containerID: 1, hostID: 10, size: -1 },
        ],
      },
    };
    expect(() => planNamespaces(config)).toThrow(
      'namespaces: validate linux.gidMappings[1] — ids and size must be integers within 0..4294967295',
    );
  });

  it('maps a container id to its host id', () => {
    const maps = [
      { containerID: 0, hostID: 100000, size: 1000 },
      { containerID: 1000, hostID: 5000, size: 1 },
    ];
    expect([0, 999, 1000, 1001].map((id) => hostIdOf(maps, id))).toEqual([100000, 100999, 5000, undefined]);
  });
});
