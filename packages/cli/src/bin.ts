#!/usr/bin/env -S node --min-semi-space-size=16 --
// The `--` matters: Node scans a script's own arguments for --env-file and loads the
// named file (NODE_OPTIONS included) before any of ctr runs, so
// `ctr container run --env-file F` would otherwise let F inject code into a root
// process. After `--` Node leaves the arguments alone.
// --min-semi-space-size: a young generation large enough that start-up needs no
// scavenge, in ctr and in its Workers (tools/lib.sh's CTR_NODE_FLAG, for the same reason).
// The launching Worker's starter is small and imports next to nothing of ctr: it is
// loaded with this file, not on demand (a dynamic import delayed the Worker ~2 ms).
import { discardPrestartedWorker, prestartLaunchingWorker } from '@ctr/runtime/launching-worker';
import { compileCacheDir } from './compile-cache.ts';
import { isForegroundRun } from './global-flags.ts';

// Every ctr command is a fresh Node start, and compiling ctr's modules is a large
// part of it: keep V8's code cache between runs. Imported after enabling it, so the
// cache covers the whole command.
const cache = compileCacheDir();
if (cache) (await import('node:module')).enableCompileCache(cache);
// A foreground `run` will want the fast launcher's Worker: start it before the rest
// of ctr loads, so its start-up runs beside ours (@ctr/runtime discards it if the
// config needs the init launcher).
const argv = process.argv.slice(2);
if (isForegroundRun(argv)) prestartLaunchingWorker();
const { main } = await import('./main.ts');
const status = await main(argv);
// A Worker nobody took (an early error) must finish loading before the process ends.
await discardPrestartedWorker();
// The command is done, its output written (stdout and stderr are synchronous for
// files, pipes and terminals on Linux): exit now rather than let Node tear the
// environment down first, ~1 ms of every command.
process.exit(status);
