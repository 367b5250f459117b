# The podman part of tools/bench (sourced by it, not run).
# Time from start to exit of one container running /bin/true, image already present:
#   ctr:         ctr container run --rm IMAGE true (the image in ctr's store)
#   podman-runc: podman run --rm IMAGE true with runc
#   podman-ctr:  the same with ctr as podman's OCI runtime (.tools/bin/ctr, the dist)
# all three in one hyperfine run, so the machine's load falls on them alike. The image
# is Debian's busybox-static built by tools/demo-image.ts and served by the bench's
# docker-registry on 127.0.0.1; podman keeps its storage and run state under the bench
# directory. Every container gets no network (ctr's default; podman's would add
# netavark, which is not the runtime's time). This host lacks CAP_SYS_RESOURCE, so
# podman's default rlimits (nofile and nproc raised to the host's maximum) cannot be
# set by any runtime: podman gets lower ones.

PODMAN_ULIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"

podman_bench() {
  local runs=$1
  bench_need podman podman
  bench_registry_up
  local w="$BENCH_WORK/podman"
  local ref="$BENCH_REGISTRY/bench/busybox:1"
  mkdir -p "$w"
  node "$CTR_ROOT/tools/demo-image.ts" "$ref" >/dev/null
  $CTR_DIST pull --quiet --plain-http --store "$w/store" "$ref" >/dev/null
  local podman="podman --root $w/storage --runroot $w/run --tmpdir $w/tmp --cgroup-manager cgroupfs --events-backend file"
  $podman pull --quiet --tls-verify=false "$ref" >/dev/null
  local run="run --rm --network none $PODMAN_ULIMITS $ref true"
  hyperfine -N --style basic --warmup 2 --runs "$runs" --export-json "$w/results.json" \
    -n ctr "$CTR_DIST --root $w/ctr container run --rm --store $w/store $ref true" \
    -n podman-runc "$podman --runtime $(command -v runc) $run" \
    -n podman-ctr "$podman --runtime $CTR_ROOT/.tools/bin/ctr $run" >/dev/null
  node -e '
    const fs = require("node:fs");
    const [file, runs] = process.argv.slice(1);
    const r = Object.fromEntries(JSON.parse(fs.readFileSync(file, "utf8")).results.map((x) => [x.command, x]));
    const ms = (n) => r[n].mean * 1000;
    console.log(`podman: run --rm busybox true, image present, ${runs} runs each (mean ms per container)`);
    for (const n of ["ctr", "podman-runc", "podman-ctr"]) {
      const cpu = (r[n].user + r[n].system) * 1000;
      const sd = (r[n].stddev ?? 0) * 1000;
      console.log(`  ${n.padEnd(12)} ${ms(n).toFixed(1).padStart(8)} ms ± ${sd.toFixed(1).padStart(6)}  cpu ${cpu.toFixed(1).padStart(7)} ms   ${(ms(n) / ms("podman-runc")).toFixed(2)}x podman-runc`);
    }
    console.log(`  podman-ctr / podman-runc: ${(ms("podman-ctr") / ms("podman-runc")).toFixed(2)}x; ctr / podman-ctr: ${(ms("ctr") / ms("podman-ctr")).toFixed(2)}x`);
  ' "$w/results.json" "$runs"
}
