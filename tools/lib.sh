# Shared by the tools/ scripts: where things live and how to reach them.
# Sourced, not run.
CTR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CTR_TOOLS="$CTR_ROOT/.tools"
export PATH="$CTR_TOOLS/bin:$CTR_ROOT/node_modules/.bin:$PATH"
# Debian packages the tests and the demo need. Later stages add to this list.
CTR_APT_PACKAGES=(
  util-linux uidmap busybox-static docker-registry openssl apache2-utils
  python3-seccomp linux-libc-dev skopeo umoci runc iproute2 procps podman containerd
)
CTR_NODE_VERSION=26.12.1
CTR_PNPM_VERSION=10.34.8
# The V8 option every ctr process starts with (tools/setup's ctr, tools/bench, the
# bundle's #! line): a young generation large enough that a command's start-up needs no
# scavenge, in ctr and in the Workers it starts (a `ctr run` took ~7 ms less).
CTR_NODE_FLAG=--min-semi-space-size=16
say() { [ -n "${CTR_QUIET:-}" ] || printf '%s\n' "$*" >&2; }
