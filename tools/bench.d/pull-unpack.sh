# The pull and unpack parts of tools/bench (sourced by it, not run).
# Both run against Debian's docker-registry on 127.0.0.1 (filesystem storage, plain
# HTTP) holding one image built from this host's files by make-image.ts (~100 MB gzip,
# six layers, the last one whiting out /usr/share/doc). Every tool starts from an empty
# store each run; the cleanup is hyperfine's --prepare, outside the timing. For unpack it
# also syncs and drops the kernel's caches: runs that each create and delete ~10,000 files
# otherwise slow down one after another, which favours whichever tool runs first. The
# CLI is the bundle the build writes (packages/cli/dist/bundle), as tools/setup's ctr.
#   pull:   ctr pull against skopeo copy to an oci: layout.
#   unpack: pull + unpack, one `ctr unpack` of the missing image (it pipelines the
#           pull and the unpack), --overlay and --flat, against containerd (its own ctr
#           client, overlayfs snapshotter, private daemon), skopeo copy + umoci unpack,
#           and curl | gzip -d | tar -x per layer with sha256sum of both streams.
# Wall times swing with the machine's load; user+sys CPU time is printed beside them.

BENCH_D="$CTR_ROOT/tools/bench.d"
CTR_DIST="node $CTR_NODE_FLAG -- $CTR_ROOT/packages/cli/dist/bundle/ctr.js"
CONTAINERD_CTR=/usr/bin/ctr # Debian's containerd client, not ours.

# Every run starts with the same cold kernel caches (see the top of this file).
BENCH_COLD='sync && echo 3 >/proc/sys/vm/drop_caches'

# Installs what only the benchmark needs (not part of CI).
bench_need() { # bench_need COMMAND PACKAGE
  command -v "$1" >/dev/null && return
  say "bench: installing $2 for $1"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

# Starts the registry once per bench run (removed at exit with BENCH_WORK); sets
# BENCH_WORK and BENCH_REGISTRY.
bench_registry_up() {
  [ -n "${BENCH_REGISTRY:-}" ] && return
  [ -f "$CTR_ROOT/packages/cli/dist/bundle/ctr.js" ] || { echo "tools/bench: build first (tools/setup)" >&2; exit 1; }
  bench_need docker-registry docker-registry
  BENCH_WORK=$(mktemp -d /tmp/ctr-bench-image.XXXXXX)
  local port
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  cat >"$BENCH_WORK/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $BENCH_WORK/registry
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$BENCH_WORK/registry.yml" >"$BENCH_WORK/registry.log" 2>&1 &
  BENCH_REGISTRY_PID=$!
  trap bench_image_down EXIT
  BENCH_REGISTRY="127.0.0.1:$port"
  until curl -sf "http://$BENCH_REGISTRY/v2/" >/dev/null; do sleep 0.2; done
}

# Pushes the pull/unpack image once per bench run; sets BENCH_REF and BENCH_IMAGE
# (make-image's JSON).
bench_image_up() {
  [ -n "${BENCH_REF:-}" ] && return
  bench_need skopeo skopeo
  bench_need umoci umoci
  bench_registry_up
  BENCH_REF="$BENCH_REGISTRY/bench/host:1"
  say "bench: building and pushing $BENCH_REF from this host's files"
  BENCH_IMAGE=$(node "$BENCH_D/make-image.ts" "$BENCH_REF")
  echo "$BENCH_IMAGE" >"$BENCH_WORK/image.json"
  node -e '
    const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const mb = (n) => (n / 1e6).toFixed(1);
    console.log(`image: ${i.layers.length} gzip layers, ${mb(i.layers.reduce((a, l) => a + l.size, 0))} MB compressed (${i.layers.map((l) => mb(l.size)).join(" + ")} MB)`);
  ' "$BENCH_WORK/image.json"
}

bench_image_down() {
  local pid
  for pid in ${CONTAINERD_PID:-} ${BENCH_REGISTRY_PID:-}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "${BENCH_WORK:-}" ]; then
    { grep -F "$BENCH_WORK" /proc/self/mounts || true; } | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l
    rm -rf "$BENCH_WORK"
  fi
  return 0
}

# hyperfine NAME PREPARE COMMAND: one tool, its JSON in $BENCH_WORK/results/NAME.json.
bench_run() {
  mkdir -p "$BENCH_WORK/results"
  hyperfine -N --style basic --runs "$BENCH_RUNS" --prepare "$2" \
    --export-json "$BENCH_WORK/results/$1.json" -n "$1" "$3" >/dev/null
}

# bench_table TITLE BASE NAME...: mean wall and CPU per tool, ratios to BASE.
bench_table() {
  node -e '
    const fs = require("node:fs");
    const [dir, title, base, ...names] = process.argv.slice(1);
    const r = (n) => {
      try {
        const x = JSON.parse(fs.readFileSync(`${dir}/${n}.json`, "utf8")).results[0];
        return { wall: x.mean, cpu: x.user + x.system, sd: x.stddev ?? 0 };
      } catch { return undefined; }
    };
    const b = r(base);
    console.log(title);
    for (const n of names) {
      const v = r(n);
      if (!v) { console.log(`  ${n.padEnd(28)} (not run)`); continue; }
      const ratio = b ? `${(v.wall / b.wall).toFixed(2)}x wall, ${(v.cpu / b.cpu).toFixed(2)}x cpu vs ${base}` : "";
      console.log(`  ${n.padEnd(28)} ${v.wall.toFixed(2).padStart(7)} s ± ${v.sd.toFixed(2)}  cpu ${v.cpu.toFixed(2).padStart(6)} s   ${ratio}`);
    }
  ' "$BENCH_WORK/results" "$@"
}

pull() {
  BENCH_RUNS=$1
  bench_image_up
  local w="$BENCH_WORK/pull"
  # sync only: the registry's blobs stay cached, so the network side is the same for both.
  local clean="sh -c 'rm -rf $w && mkdir -p $w && sync'"
  bench_run ctr-pull "$clean" "$CTR_DIST pull --quiet --plain-http --store $w/store $BENCH_REF"
  bench_run skopeo-copy "$clean" \
    "skopeo copy -q --src-tls-verify=false docker://$BENCH_REF oci:$w/skopeo:img"
  bench_table "pull: $BENCH_RUNS runs each (target ctr <= 0.8x skopeo)" skopeo-copy ctr-pull skopeo-copy
}

# A containerd on a private socket with its root and state under the bench dir.
containerd_up() {
  [ -n "${CONTAINERD_PID:-}" ] && return
  local d="$BENCH_WORK/containerd"
  mkdir -p "$d"
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/sock"
EOF
  containerd --config "$d/config.toml" >"$d/log" 2>&1 &
  CONTAINERD_PID=$!
  CONTAINERD_ARGS="--address $d/sock --namespace bench"
  until $CONTAINERD_CTR $CONTAINERD_ARGS version >/dev/null 2>&1; do sleep 0.2; done
}

# utime + stime of a process and its waited-for children, in clock ticks (1/100 s).
daemon_cpu() {
  awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"
}

# The curl | tar baseline: every layer fetched, its compressed and uncompressed
# streams hashed on the way and compared with the digest and diff_id afterwards.
curl_tar() { # curl_tar DIR
  local dir=$1 i=0
  mkdir -p "$dir/root"
  node -e '
    const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const l of i.layers) console.log(l.digest, l.diffId);
  ' "$BENCH_WORK/image.json" | while read -r digest diffid; do
    i=$((i + 1))
    mkfifo "$dir/c$i" "$dir/d$i"
    sha256sum <"$dir/c$i" >"$dir/c$i.sum" &
    sha256sum <"$dir/d$i" >"$dir/d$i.sum" &
    curl -sf "http://$BENCH_REGISTRY/v2/bench/host/blobs/$digest" | tee "$dir/c$i" | gzip -dc | tee "$dir/d$i" |
      tar -x --no-same-owner -C "$dir/root"
    wait
    [ "sha256:$(cut -d' ' -f1 "$dir/c$i.sum")" = "$digest" ] || { echo "curl_tar: layer $i digest mismatch" >&2; exit 1; }
    [ "sha256:$(cut -d' ' -f1 "$dir/d$i.sum")" = "$diffid" ] || { echo "curl_tar: layer $i diff_id mismatch" >&2; exit 1; }
  done
}

unpack() {
  BENCH_RUNS=$1
  bench_image_up
  bench_need containerd containerd
  containerd_up
  local w="$BENCH_WORK/unpack"
  local clean="sh -c 'grep -F $w /proc/self/mounts | cut -d\" \" -f2 | sort -r | xargs -r -n1 umount -l; rm -rf $w && mkdir -p $w && $BENCH_COLD'"
  bench_run ctr-overlay "$clean" \
    "$CTR_DIST unpack --quiet --plain-http --overlay --store $w/store --snapshots $w/snap $BENCH_REF $w/root"
  bench_run ctr-flat "$clean" \
    "$CTR_DIST unpack --quiet --plain-http --flat --store $w/store $BENCH_REF $w/root"
  local before
  before=$(daemon_cpu "$CONTAINERD_PID")
  bench_run containerd "sh -c '$CONTAINERD_CTR $CONTAINERD_ARGS images rm --sync $BENCH_REF >/dev/null 2>&1 || true; $BENCH_COLD'" \
    "$CONTAINERD_CTR $CONTAINERD_ARGS images pull --plain-http $BENCH_REF"
  # The pull and unpack happen in the daemon, which hyperfine does not see: add the
  # daemon's CPU per run (its image removal in --prepare included, so a little high).
  node -e '
    const fs = require("node:fs");
    const [file, cpu, runs] = process.argv.slice(1);
    const j = JSON.parse(fs.readFileSync(file, "utf8"));
    j.results[0].user += Number(cpu) / Number(runs);
    fs.writeFileSync(file, JSON.stringify(j));
  ' "$BENCH_WORK/results/containerd.json" "$(($(daemon_cpu "$CONTAINERD_PID") - before))e-2" "$BENCH_RUNS"
  bench_run skopeo-umoci "$clean" \
    "sh -c 'skopeo copy -q --src-tls-verify=false docker://$BENCH_REF oci:$w/oci:img && umoci unpack --image $w/oci:img $w/bundle'"
  export -f curl_tar
  export BENCH_WORK BENCH_REGISTRY
  bench_run curl-tar "$clean" "bash -c 'curl_tar $w'"
  bench_table "pull + unpack: $BENCH_RUNS runs each (targets: ctr <= 1.0x containerd, <= 0.5x skopeo+umoci)" \
    containerd ctr-overlay ctr-flat containerd skopeo-umoci curl-tar
  bench_table "  the same against skopeo + umoci" skopeo-umoci ctr-overlay ctr-flat
}
