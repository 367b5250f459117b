import type { Process } from '@ctr/spec';
import { CAPABILITY_NAMES, CtrError } from '@ctr/sys';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capabilityMask, type PrivilegesHost, planPrivileges } from '../src/index.ts';

const capName = fc.oneof(fc.constantFrom(...CAPABILITY_NAMES), fc.constantFrom('CAP_FUTURE', 'CAP_NOPE'));
const capSet = fc.option(fc.uniqueArray(capName, { maxLength: 8 }), { nil: undefined });
const mask = fc.bigInt({ min: 0n, max: (1n << 41n) - 1n });

const process: fc.Arbitrary<Process> = fc.record({
  user: fc.record({
    uid: fc.constantFrom(0, 1000),
    gid: fc.constantFrom(0, 1000),
    additionalGids: fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 3 }),
  }),
  cwd: fc.constant('/'),
  capabilities: fc.option(
    fc.record({
      bounding: capSet,
      effective: capSet,
      permitted: capSet,
      inheritable: capSet,
      ambient: capSet,
    }),
    { nil: undefined },
  ),
  noNewPrivileges: fc.boolean(),
});

const host: fc.Arbitrary<PrivilegesHost> = fc.record({
  lastCap: fc.integer({ min: 36, max: 40 }),
  bounding: mask,
  permitted: mask,
  setgroups: fc.constant(true),
  apparmor: fc.constant(false),
  selinux: fc.constant(false),
});

describe('property: planPrivileges', () => {
  it('returns a plan in the safe order, or a CtrError, never anything else', () => {
    fc.assert(
      fc.property(process, host, (p, h) => {
        let plan: ReturnType<typeof planPrivileges>;
        try {
          plan = planPrivileges(p, h);
        } catch (e) {
          expect(e).toBeInstanceOf(CtrError);
          expect((e as CtrError).stage).toBe('capabilities');
          return;
        }
        const at = (op: string) => plan.ops.findIndex((o) => o.op === op);
        const uid = at('setresuid');
        expect(uid).toBeGreaterThan(at('setresgid'));
        if (at('dropBounding') >= 0) expect(at('dropBounding')).toBeLessThan(uid);
        if (at('capset') >= 0) expect(at('capset')).toBeGreaterThan(uid);
        if (at('ambient') >= 0) expect(at('ambient')).toBeGreaterThan(at('capset'));
        if (p.noNewPrivileges) expect(plan.ops.at(-1)?.op).toBe('noNewPrivs');
        for (const op of plan.ops) {
          if (op.op === 'capset') {
            // Only what the runtime holds, and effective ⊆ permitted.
            expect(capabilityMask(op.permitted) & ~h.permitted).toBe(0n);
            expect(capabilityMask(op.effective) & ~capabilityMask(op.permitted)).toBe(0n);
          }
          if (op.op === 'ambient') {
            const capset = plan.ops.find((o) => o.op === 'capset');
            if (capset?.op !== 'capset') throw new Error('ambient without capset');
            const allowed = capabilityMask(capset.permitted) & capabilityMask(capset.inheritable);
            expect(capabilityMask(op.raise) & ~allowed).toBe(0n);
          }
          if (op.op === 'dropBounding') expect(capabilityMask(op.caps) & ~h.bounding).toBe(0n);
        }
      }),
      { numRuns: 500 },
    );
  });
});
