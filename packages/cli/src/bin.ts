#!/usr/bin/env -S node --
// The `--` matters: Node scans a script's own arguments for --env-file and loads the
// named file (NODE_OPTIONS included) before any of ctr runs, so
// `ctr container run --env-file F` would otherwise let F inject code into a root
// process. After `--` Node leaves the arguments alone.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
