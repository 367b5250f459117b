// Random layers built from the pieces escapes are made of (.., absolute names,
// symlinks to / and to the host, hardlinks, whiteouts, type changes): whatever
// applyLayer does with them, nothing outside the root changes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { applyLayer } from '../src/index.ts';
import { type RawEntry, tar } from './tar-writer.ts';
import { tree } from './tree.ts';

const base = makeTmp('ctr-unpack-prop-');
afterAll(() => removeTmp(base));

const segment = fc.constantFrom('a', 'b', '..', '.', '', 'outside', 'esc', '.wh.a', '.wh..wh..opq', '.wh...');
const name = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
/** Stands for the sandbox's host directory outside the root, filled in per run. */
const OUT = '@outside@';
const entry: fc.Arbitrary<RawEntry> = fc.oneof(
  fc.record({ name, type: fc.constant('0'), data: fc.constantFrom('x', 'owned') }),
  fc.record({ name, type: fc.constant('5') }),
  fc.record({
    name,
    type: fc.constant('2'),
    linkname: fc.constantFrom('/', '..', '../..', '../../..', OUT, 'a/b', 'esc', '/etc/passwd'),
  }),
  fc.record({ name, type: fc.constant('1'), linkname: fc.oneof(name, fc.constant(`${OUT}/secret`)) }),
);
const layers = fc.array(fc.array(entry, { maxLength: 8 }), { minLength: 1, maxLength: 3 });

describe.runIf(runnable('random hostile layers', needsRoot()))('random layers', () => {
  it('never change anything outside the root', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('flat', 'overlay'), layers, async (whiteouts, stack) => {
        const sandbox = join(base, `r${run++}`);
        const root = join(sandbox, 'root');
        const outside = join(sandbox, 'outside');
        mkdirSync(outside, { recursive: true });
        mkdirSync(root);
        writeFileSync(join(outside, 'secret'), 'secret');
        const before = tree(outside);
        for (const layer of stack) {
          const entries = layer.map((e) => ({ ...e, linkname: e.linkname?.replace(OUT, outside) }));
          try {
            await applyLayer(root, Readable.from([tar(entries)]), {
              mediaType: 'application/vnd.oci.image.layer.v1.tar',
              whiteouts: whiteouts as 'flat' | 'overlay',
            });
          } catch (e) {
            expect((e as Error).message).toMatch(/^unpack: /);
          }
        }
        expect(tree(outside)).toEqual(before);
      }),
      // CTR_PROPERTY_RUNS raises the count for a longer hunt than CI's.
      { numRuns: Number(process.env.CTR_PROPERTY_RUNS ?? 200) },
    );
  });
});
