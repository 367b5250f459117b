import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { BPF_CGROUP_DEVICE, bpfProgQuery } from '@ctr/sys';
import { needsRoot, runnable } from '@ctr/testkit';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Cgroup,
  cgroupHostFrom,
  compileDeviceRules,
  detectCgroups,
  deviceAllowed,
  emulateDeviceRules,
  type LinuxDeviceCgroup,
  openCgroup,
  planCgroup,
} from '../src/index.ts';
import { cleanup, startInside, uniquePath } from './helpers.ts';

/** Runs the compiled program the way the kernel would, for the instructions the compiler emits. */
function run(insns: Buffer, type: number, major: number, minor: number, access: number): number {
  const ctx = [(access << 16) | type, major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < insns.length / 8; pc++) {
    const o = pc * 8;
    const code = insns[o]!;
    const dst = insns[o + 1]! & 0xf;
    const src = insns[o + 1]! >> 4;
    const off = insns.readInt16LE(o + 2);
    const imm = insns.readInt32LE(o + 4);
    switch (code) {
      case 0x61:
        if (src !== 1) throw new Error('load from something other than the context');
        r[dst] = ctx[off / 4]! >>> 0;
        break;
      case 0x54:
        r[dst] = (r[dst]! & imm) >>> 0;
        break;
      case 0x74:
        r[dst] = r[dst]! >>> imm;
        break;
      case 0xbc:
        r[dst] = r[src]! >>> 0;
        break;
      case 0xb7:
        r[dst] = imm;
        break;
      case 0x15:
        if (r[dst] === imm >>> 0) pc += off;
        break;
      case 0x55:
        if (r[dst] !== imm >>> 0) pc += off;
        break;
      case 0x95:
        return r[0]!;
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const DEFAULT_RULES: LinuxDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
];

describe('device rules → v1 semantics → BPF program', () => {
  it('reduces rules the way the v1 controller does (merge, take away, reset)', () => {
    expect(
      emulateDeviceRules([
        { allow: false },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'w' },
        { allow: true, type: 'b', major: 8, access: 'rwm' },
        { allow: false, type: 'b', major: 8, access: 'm' },
      ]),
    ).toEqual({
      defaultAllow: false,
      exceptions: [
        { type: 'c', major: 1, minor: 3, access: 6 },
        { type: 'b', major: 8, minor: undefined, access: 6 },
      ],
    });
    expect(emulateDeviceRules([{ allow: false, type: 'c', major: 1, minor: 3 }, { allow: true }])).toEqual({
      defaultAllow: true,
      exceptions: [],
    });
  });

  it('prints a disassembly an auditor can follow', () => {
    expect(
      compileDeviceRules([{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }])
        .disassembly,
    ).toEqual([
      '  0: r2 = *(u32 *)(r1 + 0)',
      '  1: w2 &= 0xffff',
      '  2: r3 = *(u32 *)(r1 + 0)',
      '  3: w3 >>= 16',
      '  4: r4 = *(u32 *)(r1 + 4)',
      '  5: r5 = *(u32 *)(r1 + 8)',
      '  6: if r2 != 2 goto pc+7',
      '  7: if r4 != 1 goto pc+6',
      '  8: if r5 != 3 goto pc+5',
      '  9: w1 = w3',
      ' 10: w1 &= 0x5',
      ' 11: if r1 != 0 goto pc+2',
      ' 12: r0 = 1',
      ' 13: exit',
      ' 14: r0 = 0',
      ' 15: exit',
    ]);
  });

  it('compiles to a program that decides exactly as the v1 controller would', () => {
    const num = fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined });
    const rule = fc.record({
      allow: fc.boolean(),
      type: fc.constantFrom('a', 'b', 'c'),
      major: num,
      minor: num,
      access: fc.subarray(['r', 'w', 'm'], { minLength: 1 }).map((a) => a.join('')),
    });
    const request = fc.tuple(
      fc.constantFrom('b', 'c') as fc.Arbitrary<'b' | 'c'>,
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 1, max: 7 }),
    );
    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 8 }),
        fc.array(request, { minLength: 1, maxLength: 20 }),
        (rules, requests) => {
          const program = compileDeviceRules(rules);
          for (const [type, major, minor, access] of requests) {
            const expected = deviceAllowed(program.state, type, major, minor, access) ? 1 : 0;
            expect(run(program.insns, type === 'b' ? 1 : 2, major, minor, access)).toBe(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

const host = detectCgroups();

describe.runIf(
  runnable(
    'device rules against the v1 kernel',
    needsRoot(),
    host.v1.devices ? undefined : 'no v1 devices controller',
  ),
)('the emulator agrees with the v1 kernel', () => {
  const made: Cgroup[] = [];
  afterEach(() => cleanup(made));
  it.each([
    ['default rules', DEFAULT_RULES],
    [
      'merge and take away',
      [
        { allow: false },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'wm' },
        { allow: false, type: 'c', major: 1, minor: 3, access: 'm' },
      ],
    ],
  ] as [string, LinuxDeviceCgroup[]][])('%s', (_, rules) => {
    const cg = openCgroup(
      planCgroup({ cgroupsPath: uniquePath('devlist'), resources: { devices: rules } }, { containerId: 'd' }),
    );
    made.push(cg);
    cg.create();
    cg.applyResources();
    const list = readFileSync(
      `${cg.plan.dirs.find((d) => d.controller === 'devices')!.path}/devices.list`,
      'utf8',
    )
      .trim()
      .split('\n')
      .sort();
    const acc = (bits: number) => `${bits & 2 ? 'r' : ''}${bits & 4 ? 'w' : ''}${bits & 1 ? 'm' : ''}`;
    const expected = emulateDeviceRules(rules)
      .exceptions.map((e) => `${e.type} ${e.major ?? '*'}:${e.minor ?? '*'} ${acc(e.access)}`)
      .sort();
    expect(list).toEqual(expected);
  });

  it('updates a running container to a new list, ending where the v1 kernel would', () => {
    const cg = openCgroup(
      planCgroup(
        { cgroupsPath: uniquePath('devupd'), resources: { devices: DEFAULT_RULES } },
        { containerId: 'd' },
      ),
    );
    made.push(cg);
    cg.create();
    cg.applyResources();
    const next: LinuxDeviceCgroup[] = [
      { allow: false },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
      { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
      { allow: true, type: 'c', major: 136, access: 'rwm' },
    ];
    cg.update({ devices: next });
    const list = readFileSync(
      `${cg.plan.dirs.find((d) => d.controller === 'devices')!.path}/devices.list`,
      'utf8',
    );
    expect(list.trim().split('\n').sort()).toEqual(['c 1:3 r', 'c 1:9 rwm', 'c 136:* rwm'].sort());
  });
});

const unified = host.v2;
describe.runIf(runnable('cgroup v2 device program', needsRoot(), unified ? undefined : 'no cgroup2 mount'))(
  'cgroup v2 device program on the real kernel',
  () => {
    const v2 = cgroupHostFrom(
      `1 1 0:1 ${unified?.root ?? '/'} ${unified?.mountpoint ?? '/'} rw - cgroup2 cgroup2 rw\n`,
      readFileSync('/proc/self/cgroup', 'utf8'),
      '',
    );
    const made: Cgroup[] = [];
    afterEach(() => cleanup(made));

    it('denies writing /dev/null where only reading is allowed, and swaps programs on update', async () => {
      const rules: LinuxDeviceCgroup[] = [
        { allow: false },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
      ];
      const cg = openCgroup(
        planCgroup(
          { cgroupsPath: uniquePath('v2dev'), resources: { devices: rules } },
          { containerId: 'd', host: v2 },
        ),
      );
      made.push(cg);
      expect(cg.plan.deviceProgram?.at(-2)).toBe(' 14: r0 = 0');
      cg.create();
      cg.applyResources();
      const p = await startInside(
        cg,
        'cat /dev/null && echo read-ok; echo x > /dev/null && echo write-ok; true',
      );
      await p.exited;
      expect(p.output()).toContain('read-ok');
      expect(p.output()).not.toContain('write-ok');

      cg.update({ devices: [...rules, { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }] });
      const fd = openSync(cg.path, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        expect(bpfProgQuery(fd, BPF_CGROUP_DEVICE)).toHaveLength(1);
      } finally {
        closeSync(fd);
      }
      const q = await startInside(cg, 'echo x > /dev/null && echo write-ok; true');
      await q.exited;
      expect(q.output()).toContain('write-ok');
    });
  },
);
