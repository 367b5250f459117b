// The hostile-layer corpus: each case says what must happen (a refused layer, or a
// write contained in the root) and every case checks that nothing outside the
// target changed.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { makeTmp, needsRoot, removeTmp, runnable } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { applyLayer, type UnpackLimits } from '../src/index.ts';
import { type RawEntry, tar } from './tar-writer.ts';
import { tree } from './tree.ts';

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

const base = makeTmp('ctr-hostile-');
afterAll(() => removeTmp(base));
const marker = `ctr-escape-${process.pid}`;
const hostMarker = join('/tmp', marker);
const passwdHash = (): string => createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex');

interface Case {
  name: string;
  /** Layers applied in order; a function gets the sandbox path. */
  layers: (sandbox: string) => (RawEntry[] | { gz: Buffer })[];
  /** A regex the error must match, or a check of the root after success. */
  expect: RegExp | ((root: string, sandbox: string) => void);
  /** The outcome in overlay mode, when it differs. */
  overlay?: RegExp | ((root: string, sandbox: string) => void);
  limits?: Partial<UnpackLimits>;
}

const cases: Case[] = [
  {
    name: '../ escape is contained',
    layers: () => [[{ name: '../outside/evil', data: 'x' }]],
    expect: (root) => expect(readFileSync(join(root, 'outside/evil'), 'utf8')).toBe('x'),
  },
  {
    name: 'deep ../../../ escape is contained',
    layers: () => [[{ name: `a/../../../../../../tmp/${marker}`, data: 'x' }]],
    expect: (root) => expect(existsSync(join(root, 'tmp', marker))).toBe(true),
  },
  {
    name: 'absolute name is contained',
    layers: () => [[{ name: `/tmp/${marker}`, data: 'x' }]],
    expect: (root) => expect(existsSync(join(root, 'tmp', marker))).toBe(true),
  },
  {
    name: 'symlink to / then a file through it is contained',
    layers: () => [
      [
        { name: 'esc', type: '2', linkname: '/' },
        { name: `esc/tmp/${marker}`, data: 'x' },
      ],
    ],
    expect: (root) => expect(existsSync(join(root, 'tmp', marker))).toBe(true),
  },
  {
    name: 'symlink to .. then a file through it is contained',
    layers: () => [
      [
        { name: 'sub/up', type: '2', linkname: '../../..' },
        { name: 'sub/up/outside/evil', data: 'x' },
      ],
    ],
    expect: (root) => expect(readFileSync(join(root, 'outside/evil'), 'utf8')).toBe('x'),
  },
  {
    name: 'symlink chain to the root is contained',
    layers: () => [
      [
        { name: 'a', type: '2', linkname: 'b' },
        { name: 'b', type: '2', linkname: 'c/../c' },
        { name: 'c', type: '2', linkname: '../../../' },
        { name: `a/tmp/${marker}`, data: 'x' },
      ],
    ],
    expect: (root) => expect(existsSync(join(root, 'tmp', marker))).toBe(true),
  },
  {
    name: 'symlink to the host path of the sandbox does not lead out',
    layers: (sandbox) => [
      [
        { name: 'esc', type: '2', linkname: join(sandbox, 'outside') },
        { name: 'esc/evil', data: 'x' },
      ],
    ],
    expect: /dangling symlink/,
  },
  {
    name: 'a file entry replaces a symlink instead of writing through it',
    layers: () => [[{ name: 'pw', type: '2', linkname: '/etc/passwd' }], [{ name: 'pw', data: 'owned' }]],
    expect: (root) => expect(lstatSync(join(root, 'pw')).isFile()).toBe(true),
  },
  {
    name: 'hardlink to a path outside the root is refused',
    layers: () => [[{ name: 'hl', type: '1', linkname: '../../outside/secret' }]],
    expect: /hardlink target .* is not a file inside the root/,
    // Deferred to the snapshots below (unpackLayers refuses it there): nothing written.
    overlay: (root) => expect(existsSync(join(root, 'hl'))).toBe(false),
  },
  {
    name: 'hardlink to an absolute host file is refused',
    layers: () => [[{ name: 'hl', type: '1', linkname: '/etc/passwd' }]],
    expect: /not a file inside the root/,
    overlay: (root) => expect(existsSync(join(root, 'hl'))).toBe(false),
  },
  {
    name: 'hardlink through a symlink to / stays in the root',
    layers: () => [
      [
        { name: 'esc', type: '2', linkname: '/' },
        { name: 'hl', type: '1', linkname: 'esc/etc/passwd' },
      ],
    ],
    expect: /not a file inside the root/,
    overlay: (root) => expect(existsSync(join(root, 'hl'))).toBe(false),
  },
  {
    name: 'hardlink to a symlink links the symlink itself',
    layers: () => [
      [
        { name: 's', type: '2', linkname: '/etc/passwd' },
        { name: 'h', type: '1', linkname: 's' },
      ],
    ],
    expect: (root) => {
      expect(readlinkSync(join(root, 'h'))).toBe('/etc/passwd');
      expect(lstatSync(join(root, 'h')).ino).toBe(lstatSync(join(root, 's')).ino);
    },
  },
  {
    name: 'whiteout .wh... (parent) is refused',
    layers: () => [[{ name: 'd/.wh...' }]],
    expect: /may not name "\." or "\.\."/,
  },
  {
    name: 'whiteout .wh.. (the directory itself) is refused',
    layers: () => [[{ name: 'd/.wh..' }]],
    expect: /may not name/,
  },
  {
    name: 'whiteout through a symlink to the host path deletes nothing outside',
    layers: (sandbox) => [
      [{ name: 'esc', type: '2', linkname: join(sandbox, 'outside') }],
      [{ name: 'esc/.wh.secret' }],
    ],
    expect: (root) => expect(lstatSync(join(root, 'esc')).isSymbolicLink()).toBe(true),
    // A snapshot records the whiteout under its parent, which here leads nowhere.
    overlay: /dangling symlink/,
  },
  {
    name: 'a directory replaced by a symlink to / between layers: later writes stay inside',
    layers: () => [
      [{ name: 'd/', type: '5' }],
      [{ name: 'd', type: '2', linkname: '/' }],
      [{ name: 'd/evil', data: 'x' }],
    ],
    expect: (root) => expect(readFileSync(join(root, 'evil'), 'utf8')).toBe('x'),
  },
  {
    name: 'a directory replaced by a looping symlink in the same layer: the symlink stays',
    layers: () => [
      [
        { name: 'a/a', type: '5' },
        { name: 'a', type: '2', linkname: 'a/b' },
      ],
    ],
    expect: (root) => expect(readlinkSync(join(root, 'a'))).toBe('a/b'),
  },
  {
    name: 'a directory replaced by a symlink to the host between layers: refused',
    layers: (sandbox) => [
      [{ name: 'd/', type: '5' }],
      [{ name: 'd', type: '2', linkname: join(sandbox, 'outside') }],
      [{ name: 'd/evil', data: 'x' }],
    ],
    expect: /dangling symlink/,
  },
  {
    name: 'huge PAX header is refused before it is read',
    layers: () => [[{ name: 'f', pax: { comment: 'x'.repeat(2 << 20) } }]],
    expect: /exceeds maxPaxHeaderSize/,
  },
  {
    name: 'PAX size overrides the ustar size consistently',
    layers: () => [
      [
        { name: 'a', data: 'abc', size: 1000, pax: { size: '3' } },
        { name: 'b', data: 'next' },
      ],
    ],
    expect: (root) => {
      expect(readFileSync(join(root, 'a'), 'utf8')).toBe('abc');
      expect(readFileSync(join(root, 'b'), 'utf8')).toBe('next');
    },
  },
  {
    name: 'a lenient PAX size ("3abc") is refused',
    layers: () => [[{ name: 'a', data: 'abc', pax: { size: '3abc' } }]],
    expect: /is not a decimal number/,
  },
  {
    name: 'a directory carrying data is refused (parser differential)',
    layers: () => [[{ name: 'd/', type: '5', data: Buffer.alloc(512) }]],
    expect: /carries 512 bytes/,
  },
  {
    name: 'duplicate entries: the last one wins',
    layers: () => [
      [
        { name: 'f', data: 'one' },
        { name: 'f', data: 'two' },
        { name: 'f/', type: '5' },
        { name: 'f', type: '2', linkname: 'x' },
      ],
    ],
    expect: (root) => expect(readlinkSync(join(root, 'f'))).toBe('x'),
  },
  {
    name: 'a file below a file is refused',
    layers: () => [
      [
        { name: 'f', data: 'x' },
        { name: 'f/g', data: 'y' },
      ],
    ],
    expect: /not a directory/,
  },
  {
    name: 'GNU sparse entries are refused',
    layers: () => [[{ name: 's', type: 'S' }]],
    expect: /unsupported entry type 'S'/,
  },
  {
    name: 'too many entries are refused',
    layers: () => [Array.from({ length: 20 }, (_, i) => ({ name: `f${i}` }))],
    limits: { maxEntries: 10 },
    expect: /maxEntries/,
  },
  {
    name: '1 GB file in a 1 MB gzip: refused at the entry size limit',
    layers: () => [{ gz: bomb() }],
    limits: { maxEntrySize: 256 << 20 },
    expect: /exceeds maxEntrySize/,
  },
  {
    name: '1 GB file in a 1 MB gzip: refused at the total size limit',
    layers: () => [{ gz: bomb() }],
    limits: { maxTotalBytes: 16 << 20 },
    expect: /exceeds maxTotalBytes/,
  },
];

let bombCache: Buffer | undefined;
/** A tar of one 1 GiB file of zeros, gzip'd as concatenated members (about 1 MB). */
function bomb(): Buffer {
  if (bombCache) return bombCache;
  const header = tar([{ name: 'big', size: 2 ** 30 }]).subarray(0, 512);
  const zeros = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  bombCache = Buffer.concat([
    gzipSync(header),
    ...Array.from({ length: 16 }, () => zeros),
    gzipSync(Buffer.alloc(1024)),
  ]);
  return bombCache;
}

describe.runIf(runnable('hostile layers', needsRoot()))('hostile layers', () => {
  it('the bomb is small', () => {
    expect(bomb().length).toBeLessThan(2 << 20);
  });

  for (const [i, c] of cases.entries())
    for (const whiteouts of ['flat', 'overlay'] as const) {
      it(`${c.name} (${whiteouts})`, async () => {
        const sandbox = join(base, `case${i}-${whiteouts}`);
        const outcome = whiteouts === 'overlay' ? (c.overlay ?? c.expect) : c.expect;
        const root = join(sandbox, 'root');
        mkdirSync(join(sandbox, 'outside'), { recursive: true });
        mkdirSync(root);
        writeFileSync(join(sandbox, 'outside/secret'), 'secret');
        const before = tree(sandbox);
        const passwd = passwdHash();
        let error: unknown;
        try {
          for (const layer of c.layers(sandbox)) {
            const [buf, mediaType] = Array.isArray(layer) ? [tar(layer), TAR] : [layer.gz, GZIP];
            await applyLayer(root, Readable.from([buf]), { mediaType, limits: c.limits, whiteouts });
          }
        } catch (e) {
          error = e;
        }
        if (outcome instanceof RegExp) {
          expect(error, 'the layer must be refused').toBeInstanceOf(Error);
          expect((error as Error).message).toMatch(outcome);
          expect((error as Error).message).toMatch(/^unpack: /);
        } else {
          if (error) throw error;
          outcome(root, sandbox);
        }
        const after = tree(sandbox);
        for (const k of Object.keys(after)) if (k === 'root' || k.startsWith('root/')) delete after[k];
        for (const k of Object.keys(before)) if (k === 'root') delete before[k];
        delete before['.'];
        delete after['.'];
        expect(after).toEqual(before);
        expect(existsSync(hostMarker)).toBe(false);
        expect(passwdHash()).toBe(passwd);
      });
    }
});
