#!/usr/bin/env bash
# Benchmarks of issue 16 (the remote cache), each against its baseline in one
# run on one machine, with the servers on loopback:
#
#   1. push and pull of N JPEG images (default 10,000, about 250 MB; a files
#      step over them, `dsbench gen-images`) to and from versitygw (S3) and
#      bazel-remote (REAPI), against `rclone copy` of the same files to and
#      from the same versitygw, with rclone's defaults and with
#      --transfers 16 --checkers 16 (dsbuild moves 16 blobs at a time).
#      Each is timed 3 times, into a fresh prefix (push) or a fresh empty
#      store or directory (pull); the median is reported, with MB/s of the
#      images' bytes and the ratio dsbuild ÷ rclone (goal: ≥ 1.0×);
#   2. the no-op build of the 200-step recipe of bench/run.sh (30 runs),
#      local-only and with DSBUILD_REMOTE naming versitygw and bazel-remote,
#      both holding the recipe's results (goal: ≤ 1.2× the local-only
#      median). Also timed, for information: the same build from an empty
#      store with the remote holding everything (a second machine's build).
#
# Usage: bench/remote.sh [WORKDIR [N]]
#   WORKDIR: default a temporary directory; needs about 3 GiB for N = 10,000.
#   N: the image count (a quick run: bench/remote.sh /tmp/x 500).
# Needs bin/versitygw and bin/bazel-remote (built by tools/build.sh when
# absent), and rclone (Debian: apt-get install -y rclone).
# Results go to stdout; record them in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=${1:-$(mktemp -d)}
count=${2:-10000}
case $count in
  '' | *[!0-9]* | 0) echo "bench/remote.sh: N must be a positive integer, not '$count'" >&2; exit 2 ;;
esac
mkdir -p "$work"
work=$(cd "$work" && pwd)
export GOAMD64=v1
# Nothing from the caller's environment may point dsbuild or rclone elsewhere.
# The servers speak plain HTTP, so a CA bundle has no use; AWS_CA_BUNDLE
# would make rclone fail ("LoadCustomCABundleError": its SDK cannot apply it
# to rclone's transport) and costs dsbuild's S3 client about 40 ms a
# command (it parses the system roots and the bundle).
unset DSBUILD_REMOTE DSBUILD_REMOTE_UPLOAD DSBUILD_REMOTE_HEADERS DSBUILD_CACHE \
  AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE \
  AWS_CA_BUNDLE
if ! command -v rclone > /dev/null; then
  echo "bench/remote.sh: rclone is not installed (Debian: apt-get install -y rclone)" >&2
  exit 1
fi
if [ ! -x bin/versitygw ] || [ ! -x bin/bazel-remote ]; then
  echo "# building the servers into bin/ (tools/build.sh; minutes the first time)" >&2
  bash tools/build.sh
fi
go build -o "$work/dsbuild" ./cmd/dsbuild
go build -o "$work/dsbench" ./bench/dsbench
ds="$work/dsbuild"
bench="$work/dsbench"

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "# go: $(go version), GOAMD64=$GOAMD64, commit $(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
echo "# $(rclone version | head -n 1); servers (tools/go.mod): $(awk '$1 ~ /^github.com\/(versity\/versitygw|buchgr\/bazel-remote)/ && NF >= 2 {printf "%s %s  ", $1, $2}' tools/go.mod)"
echo "# workdir: $work ($(df -T "$work" | awk 'NR == 2 {print $2}')), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- servers -------------------------------------------------------------

# pids, cleanup on exit, free_port
. "$repo/bench/servers.sh"

# wait_port PID PORT NAME LOG: wait until PORT accepts connections.
wait_port() {
  local i
  for ((i = 0; i < 200; i++)); do
    if ! kill -0 "$1" 2> /dev/null; then
      echo "bench/remote.sh: $3 exited at start; its log, $4:" >&2
      tail -n 20 "$4" >&2
      exit 1
    fi
    if (: < "/dev/tcp/127.0.0.1/$2") 2> /dev/null; then
      return
    fi
    sleep 0.05
  done
  echo "bench/remote.sh: $3 does not listen on port $2 after 10 s; log: $4" >&2
  exit 1
}

# stop_server PID: stop a server this script started.
stop_server() {
  kill "$1" 2> /dev/null || true
  wait "$1" 2> /dev/null || true
  local rest=() p
  for p in "${pids[@]}"; do
    [ "$p" = "$1" ] || rest+=("$p")
  done
  pids=("${rest[@]}")
}

s3data="$work/s3-data"
rm -rf "$s3data"
mkdir -p "$s3data/dsbuild"
s3port=$(free_port)
ROOT_ACCESS_KEY=dsbuild ROOT_SECRET_KEY=dsbuild-secret \
  "$repo/bin/versitygw" --port "127.0.0.1:$s3port" --region us-east-1 --quiet posix "$s3data" \
  > "$work/versitygw.log" 2>&1 &
pids+=($!)
wait_port "$!" "$s3port" versitygw "$work/versitygw.log"
export AWS_ACCESS_KEY_ID=dsbuild AWS_SECRET_ACCESS_KEY=dsbuild-secret AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3port"
export RCLONE_CONFIG="$work/rclone.conf" RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other \
  RCLONE_CONFIG_BENCH_ENDPOINT="http://127.0.0.1:$s3port" RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=dsbuild \
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=dsbuild-secret RCLONE_CONFIG_BENCH_REGION=us-east-1
: > "$RCLONE_CONFIG"
echo "# versitygw (S3) on 127.0.0.1:$s3port, data in $s3data"

# start_bazel DIR: start bazel-remote on a fresh data directory DIR; sets
# bazel_pid and bazel_port.
start_bazel() {
  rm -rf "$1"
  mkdir -p "$1"
  bazel_port=$(free_port)
  local http
  http=$(free_port)
  "$repo/bin/bazel-remote" --dir "$1" --max_size 10 \
    --grpc_address "127.0.0.1:$bazel_port" --http_address "127.0.0.1:$http" \
    > "$1.log" 2>&1 &
  bazel_pid=$!
  pids+=("$bazel_pid")
  wait_port "$bazel_pid" "$bazel_port" bazel-remote "$1.log"
}

# ---- timing helpers ------------------------------------------------------

# timed LOG CMD...: run CMD with stdout and stderr to LOG and set ms to its
# wall time in milliseconds; a failing CMD stops the script, showing LOG.
timed() {
  local log=$1 start end
  shift
  sync # no dirty pages from the previous run (untimed)
  start=$(date +%s%N)
  if ! "$@" > "$log" 2>&1; then
    echo "bench/remote.sh: failed: $*" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  end=$(date +%s%N)
  ms=$(((end - start) / 1000000))
}

# median A B C...: the median of integers.
median() {
  printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

# mbps MS: the images' throughput in MB/s (10^6 bytes) at MS milliseconds.
mbps() {
  awk -v b="$total" -v ms="$1" 'BEGIN {printf "%.1f", b / 1e6 / (ms / 1000)}'
}

# json_field LOG NAME: the integer NAME of the JSON summary line in LOG.
json_field() {
  grep -o "\"$2\":[0-9]*" "$1" | tail -n 1 | cut -d: -f2
}

# check_transfer LOG uploads|downloads: the summary in LOG says at least
# $count blobs and $total bytes moved that way, and the remote stayed up.
check_transfer() {
  local n b
  n=$(json_field "$1" "$2")
  if [ "$2" = uploads ]; then b=$(json_field "$1" upload_bytes); else b=$(json_field "$1" download_bytes); fi
  if [ -z "$n" ] || [ -z "$b" ] || [ "$n" -lt "$count" ] || [ "$b" -lt "$total" ] || grep -q '"down":true' "$1"; then
    echo "bench/remote.sh: $1: expected ≥ $count blobs and ≥ $total bytes $2, got ${n:-none} blobs, ${b:-no} bytes:" >&2
    cat "$1" >&2
    exit 1
  fi
}

# check_files DIR: DIR holds exactly $count files of $total bytes in all.
check_files() {
  local n b
  n=$(find "$1" -type f | wc -l)
  b=$(find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  if [ "$n" -ne "$count" ] || [ "$b" -ne "$total" ]; then
    echo "bench/remote.sh: $1 holds $n files of $b bytes, expected $count of $total" >&2
    exit 1
  fi
}

# report NAME MS...: the median of the runs, with MB/s; sets last_ms.
report() {
  local name=$1
  shift
  last_ms=$(median "$@")
  printf '%-44s median %6d ms  %7s MB/s   runs: %s ms\n' "$name" "$last_ms" "$(mbps "$last_ms")" "$*"
}

# ---- 1. push and pull ----------------------------------------------------

echo "## 1. push and pull of $count JPEG images"
img="$work/images"
rm -rf "$img" "$work/store-local"
"$bench" gen-images "$img" "$count" | tee "$work/gen-images.out"
total=$(awk '{print $4}' "$work/gen-images.out")
echo "images: $count files, $total bytes ($(awk -v b="$total" 'BEGIN {printf "%.1f MB", b / 1e6}'))"
"$ds" --cache "$work/store-local" build "$img" | tail -n 1
find "$img/data" -type f | sort | xargs cat > /dev/null # the page cache holds the images, for rclone too

# Each repetition times every transfer once, in the same order, so that a
# change of the machine's load over the run falls on all of them alike.
# rclone goes to the same versitygw with its defaults, then with dsbuild's
# concurrency.
runs=3
rc_opts=("" "--transfers 16 --checkers 16")
s3_push=() s3_pull=() bz_push=() bz_pull=() rc_push0=() rc_pull0=() rc_push1=() rc_pull1=()
for ((r = 1; r <= runs; r++)); do
  # S3: push into a fresh prefix, pull it into a fresh store.
  export DSBUILD_REMOTE="s3://dsbuild/push$r"
  timed "$work/s3-push$r.log" "$ds" --json --cache "$work/store-local" push "$img"
  s3_push+=("$ms")
  check_transfer "$work/s3-push$r.log" uploads
  rm -rf "$work/store-s3-$r"
  timed "$work/s3-pull$r.log" "$ds" --json --cache "$work/store-s3-$r" pull "$img"
  s3_pull+=("$ms")
  check_transfer "$work/s3-pull$r.log" downloads
  rm -rf "$work/store-s3-$r" "$s3data/dsbuild/push$r"

  # bazel-remote: a fresh, empty server for each push.
  start_bazel "$work/bazel-data-$r"
  export DSBUILD_REMOTE="grpc://127.0.0.1:$bazel_port"
  timed "$work/bazel-push$r.log" "$ds" --json --cache "$work/store-local" push "$img"
  bz_push+=("$ms")
  check_transfer "$work/bazel-push$r.log" uploads
  rm -rf "$work/store-bazel-$r"
  timed "$work/bazel-pull$r.log" "$ds" --json --cache "$work/store-bazel-$r" pull "$img"
  bz_pull+=("$ms")
  check_transfer "$work/bazel-pull$r.log" downloads
  stop_server "$bazel_pid"
  rm -rf "$work/store-bazel-$r" "$work/bazel-data-$r"
  unset DSBUILD_REMOTE

  for o in 0 1; do
    prefix="rclone$o-$r"
    # shellcheck disable=SC2086 # the options are words
    timed "$work/rclone-push$o-$r.log" rclone copy ${rc_opts[$o]} "$img/data" "bench:dsbuild/$prefix"
    if [ "$o" = 0 ]; then rc_push0+=("$ms"); else rc_push1+=("$ms"); fi
    check_files "$s3data/dsbuild/$prefix"
    rm -rf "$work/rclone-pull-$r"
    # shellcheck disable=SC2086
    timed "$work/rclone-pull$o-$r.log" rclone copy ${rc_opts[$o]} "bench:dsbuild/$prefix" "$work/rclone-pull-$r"
    if [ "$o" = 0 ]; then rc_pull0+=("$ms"); else rc_pull1+=("$ms"); fi
    check_files "$work/rclone-pull-$r"
    rm -rf "$work/rclone-pull-$r" "$s3data/dsbuild/$prefix"
  done
done

echo "median of $runs runs; MB/s of the images' $total bytes:"
report "dsbuild push → versitygw (S3)" "${s3_push[@]}"
m_s3_push=$last_ms
report "dsbuild push → bazel-remote (REAPI)" "${bz_push[@]}"
m_bz_push=$last_ms
report "rclone copy → versitygw (defaults)" "${rc_push0[@]}"
m_rc_push0=$last_ms
report "rclone copy → versitygw (16 transfers)" "${rc_push1[@]}"
m_rc_push1=$last_ms
report "dsbuild pull ← versitygw (S3)" "${s3_pull[@]}"
m_s3_pull=$last_ms
report "dsbuild pull ← bazel-remote (REAPI)" "${bz_pull[@]}"
m_bz_pull=$last_ms
report "rclone copy ← versitygw (defaults)" "${rc_pull0[@]}"
m_rc_pull0=$last_ms
report "rclone copy ← versitygw (16 transfers)" "${rc_pull1[@]}"
m_rc_pull1=$last_ms

# ratio NAME DSBUILD_MS RCLONE_MS: dsbuild's throughput ÷ rclone's.
ratio() {
  awk -v n="$1" -v d="$2" -v r="$3" 'BEGIN {printf "  %-52s %.2f×\n", n, r / d}'
}
echo "throughput ratio dsbuild ÷ rclone (goal ≥ 1.0×):"
ratio "push S3 ÷ rclone defaults" "$m_s3_push" "$m_rc_push0"
ratio "push S3 ÷ rclone 16 transfers" "$m_s3_push" "$m_rc_push1"
ratio "push bazel-remote ÷ rclone defaults" "$m_bz_push" "$m_rc_push0"
ratio "push bazel-remote ÷ rclone 16 transfers" "$m_bz_push" "$m_rc_push1"
ratio "pull S3 ÷ rclone defaults" "$m_s3_pull" "$m_rc_pull0"
ratio "pull S3 ÷ rclone 16 transfers" "$m_s3_pull" "$m_rc_pull1"
ratio "pull bazel-remote ÷ rclone defaults" "$m_bz_pull" "$m_rc_pull0"
ratio "pull bazel-remote ÷ rclone 16 transfers" "$m_bz_pull" "$m_rc_pull1"
rm -rf "$work/store-local"

# ---- 2. no-op build with a remote ----------------------------------------

echo "## 2. no-op rebuild (200 steps, 10,000 source files) with a remote"
noop="$work/noop"
rm -rf "$noop" "$work/noop-store" "$work/noop-store-b"
"$bench" gen-noop "$noop"
"$ds" --cache "$work/noop-store" build "$noop" | tail -n 1
sleep 2.1 # the stat cache does not remember files changed in the last 2 s
"$ds" --cache "$work/noop-store" build "$noop" | tail -n 1
start_bazel "$work/bazel-data-noop"
s3url="s3://dsbuild/noop"
grpcurl="grpc://127.0.0.1:$bazel_port"
for url in "$s3url" "$grpcurl"; do
  "$ds" --cache "$work/noop-store" --remote "$url" push "$noop"
done

# noop_check URL STORE: one untimed build (with the remote URL, if any)
# must say that no step ran and write nothing to stderr (a remote warning
# means the build went on without it).
noop_check() {
  local out err="$work/noop-check.err"
  out=$(DSBUILD_REMOTE=$1 "$ds" --cache "$2" build "$noop" 2> "$err" | grep -v '^cached ')
  echo "check (${1:-local-only}, $(basename "$2")): ${out//$'\n'/; }"
  if [ -s "$err" ] || ! grep -q '^200 steps: 0 ran' <<< "$out"; then
    echo "bench/remote.sh: the no-op build ran steps or warned:" >&2
    cat "$err" >&2
    exit 1
  fi
}

# noop_time LABEL N URL STORE [PREPARE]: time N builds into STORE, with the
# remote URL if any, running PREPARE (untimed) before each; any message on
# stderr stops the script. Prints dsbench's line and sets last_ms.
noop_time() {
  local err="$work/noop-${1//[^a-zA-Z0-9]/_}.err" out
  local prep=()
  [ -z "${5:-}" ] || prep=(--prepare "$5")
  sync
  if ! out=$(DSBUILD_REMOTE=$3 "$bench" time "$2" "${prep[@]}" "$ds" --cache "$4" build "$noop" 2> "$err"); then
    cat "$err" >&2
    exit 1
  fi
  if [ -s "$err" ]; then
    echo "bench/remote.sh: the $1 builds wrote to stderr:" >&2
    cat "$err" >&2
    exit 1
  fi
  printf '%-40s %s\n' "$1" "$out"
  last_ms=$(sed 's/.*median \([0-9.]*\) ms.*/\1/' <<< "$out")
}

for url in "" "$s3url" "$grpcurl"; do
  noop_check "$url" "$work/noop-store"
done
noop_time "local-only" 30 "" "$work/noop-store"
m_local=$last_ms
noop_time "with versitygw (S3)" 30 "$s3url" "$work/noop-store"
m_s3=$last_ms
noop_time "with bazel-remote (REAPI)" 30 "$grpcurl" "$work/noop-store"
m_bz=$last_ms
echo "ratio to local-only (goal ≤ 1.2×):"
awk -v l="$m_local" -v s="$m_s3" -v b="$m_bz" 'BEGIN {printf "  S3 %.2f×   bazel-remote %.2f×\n", s / l, b / l}'

# For information: a second machine's build, from an empty store, of a
# recipe whose results the remote holds (0 steps run; nothing downloaded
# but the closure manifests; the 10,000 sources are hashed afresh).
echo "from an empty store, the remote holding every result (for information):"
for url in "$s3url" "$grpcurl"; do
  rm -rf "$work/noop-store-b"
  noop_check "$url" "$work/noop-store-b"
done
noop_time "empty store, versitygw (S3)" 5 "$s3url" "$work/noop-store-b" "rm -rf '$work/noop-store-b'"
noop_time "empty store, bazel-remote (REAPI)" 5 "$grpcurl" "$work/noop-store-b" "rm -rf '$work/noop-store-b'"
rm -rf "$work/noop-store-b"
