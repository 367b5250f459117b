// Bundles the built ctr CLI (packages/*/dist) into packages/cli/dist/bundle/: a few
// files instead of the ~120 modules Node would otherwise resolve, read and link on
// every start (ctr is a fresh process per command). Lazy command loading survives as
// code-split chunks. Run by tools/setup after the build.
//
// Two more kinds of entry are bundled, each found from a module that keeps the
// bundle's own import.meta.url, so its `new URL('./x.js', import.meta.url)` finds it:
// - the fast launcher's thread (started on every foreground `ctr run`), as thread.js
//   beside ctr.js, from fast/launching-worker.js;
// - the container's init and the exec helper (a Node process each, for every
//   `create` and `exec`), as init/main.js and init/exec-main.js, from launcher.js.
//   Each is one file with no chunks: they load every module before they leave the
//   host's mount namespace, and a chunk loaded later would not be found.
// Every other module's import.meta.url is rewritten to its own dist file, so
// `new URL('./x.js', import.meta.url)` still finds its sibling (the namespaces worker,
// for one). koffi's native addon is loaded by @ctr/sys from where pnpm put it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'packages/cli');
const outdir = join(cli, 'dist/bundle');
const runtimeDist = join(repo, 'packages/runtime/dist');
// The modules whose import.meta.url stays the bundle's: they start a bundled entry.
const bundleRelative = new Set([
  join(runtimeDist, 'fast/launching-worker.js'),
  join(runtimeDist, 'launcher.js'),
]);

// Chunk names carry content hashes: stale ones from an earlier build would pile up.
rmSync(outdir, { recursive: true, force: true });
/** A dist module's import.meta.url, as seen from a bundle file in `dir`. */
const distUrls = (dir) => ({
  name: 'ctr-dist-urls',
  setup(b) {
    b.onLoad({ filter: /\/packages\/[^/]+\/dist\/.*\.js$/ }, (args) => {
      if (bundleRelative.has(args.path)) return undefined;
      const rel = relative(dir, args.path);
      const own = `new URL(${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)}, import.meta.url).href`;
      return {
        contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', own),
        loader: 'js',
      };
    });
  },
});
const common = {
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  logLevel: 'warning',
  // undici and tar-stream are CommonJS and require() Node's built-ins.
  banner: {
    js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
  },
  plugins: [distUrls(outdir)],
};
// `import { x } from 'node:fs'` makes Node build an ES module facade of the built-in,
// which reads every export: fs's lazy getters (ReadStream and the rest) then load
// Node's streams, ~9 ms of every command, in ctr and again in each Worker. The
// bundle takes built-ins from process.getBuiltinModule instead, reading only the
// names it uses. esbuild writes static imports of externals one way only, so a
// statement-level rewrite of its output is enough.
const builtinImport = /^import ((?:[\w$]+, )?(?:\* as [\w$]+|\{[^}]*\})|[\w$]+) from "(node:[\w/]+)";$/gm;
function lazyBuiltins(code) {
  return code.replace(builtinImport, (_, clause, name) => {
    const source = `process.getBuiltinModule(${JSON.stringify(name)})`;
    const decls = [];
    const def = /^([\w$]+)(?:, |$)/.exec(clause);
    if (def) decls.push(`const ${def[1]} = ${source};`);
    const ns = /\* as ([\w$]+)/.exec(clause);
    if (ns) decls.push(`const ${ns[1]} = ${source};`);
    const named = /\{([^}]*)\}/.exec(clause);
    if (named) {
      const names = named[1]
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
        .map((n) => n.replace(/^([\w$]+) as ([\w$]+)$/, '$1: $2'));
      decls.push(`const { ${names.join(', ')} } = ${source};`);
    }
    return decls.join(' ');
  });
}

async function bundle(options) {
  const result = await build({ ...common, ...options, write: false });
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.path.endsWith('.js') ? lazyBuiltins(file.text) : file.contents, {
      mode: file.path.endsWith('/ctr.js') ? 0o755 : 0o644,
    });
  }
}

await bundle({ entryPoints: { ctr: join(cli, 'dist/bin.js') } });
// A build of its own: sharing chunks with the CLI's, the thread would load every module
// of each package it touches (esbuild splits by file, and the CLI reaches them all);
// alone it loads what it applies, about a third. A chunk both builds write has the same
// content under the same hashed name.
await bundle({ entryPoints: { thread: join(runtimeDist, 'fast/thread.js') } });
// One file each, no chunks (see the top).
const initDir = join(outdir, 'init');
await bundle({
  entryPoints: {
    main: join(runtimeDist, 'init/main.js'),
    'exec-main': join(runtimeDist, 'init/exec-main.js'),
  },
  outdir: initDir,
  splitting: false,
  plugins: [distUrls(initDir)],
});
