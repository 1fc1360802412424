#!/usr/bin/env bash
# Benchmark of issue 17 (distributed builds on Temporal), in one run on one
# machine, with a Temporal dev server, versitygw and the workers on loopback:
#
#   a transform of N items (default 20,000 synthetic SIZE×SIZE images,
#   SIZE 48 by default, resized to half their side with their masks; with
#   WORKLOAD=photos, 640×480 photos with 1–3 persons, each person cropped
#   with 10 % padding, resized to 256×256 and mirrored: about 10 ms of
#   work per item instead of 0.5) built
#     - locally (dsbuild build, -j W: the baseline),
#     - with --executor temporal on 1, 2 and 4 workers (-j 1 each), the
#       step split as the design chooses (shard_size, default 1000 items;
#       SHARD_SIZE sets it),
#   each time on a fresh remote prefix with the import already there (built
#   and timed apart), so that only the transform and its lockfile are timed.
#   It prints the wall time, items/s, the speed-up over 1 worker, the
#   overhead per item against the local build at the same parallelism, and
#   the Temporal history of each build (events and bytes, per step and per
#   shard), with the lockfiles compared to the local one, and the CPU
#   seconds each process spent (the workers, versitygw, the Temporal
#   server, the client): on a machine with fewer cores than processes the
#   wall time cannot scale, and the CPU per item says what would.
#
# versitygw runs with --keep-alive, as S3 and MinIO keep connections open
# (without it every request pays a new TCP connection).
#
# Usage: bench/distributed.sh [WORKDIR [N [WORKERS]]]
#   WORKDIR: default a temporary directory.   N: items (default 20000).
#   WORKERS: the worker counts (default "1 2 4").
#   Environment: WORKLOAD=small (default) or photos; SIZE (small images'
#   side, default 48); SHARD_SIZE (items a shard, default 1000); PROFILE=1
#   writes each worker's CPU profile to WORKDIR/wN-K.prof; WORKER_CPU
#   (e.g. 0.35) gives each worker, and the local -j 1 baseline, that many
#   cores and no more, through a cgroup CPU quota of its own (needs root
#   and a writable cgroup v2 or v1 cpu hierarchy).
#
# WORKER_CPU stands in for N machines on a machine with fewer cores: four
# workers of 0.35 cores each take 1.4 of two cores, and the S3 server,
# Temporal and the client the rest, so the wall time can scale with the
# workers as it would with a machine each, slow ones. Without it, every
# worker competes for the same cores and N workers cannot go N× faster
# than the cores allow.
# Needs bin/temporal and bin/versitygw (tools/build.sh builds them).
# Results go to stdout; record them in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=${1:-$(mktemp -d)}
count=${2:-20000}
counts=${3:-"1 2 4"}
size=${SIZE:-48}
shard_size=${SHARD_SIZE:-1000}
workload=${WORKLOAD:-small}
worker_cpu=${WORKER_CPU:-}
mkdir -p "$work"
work=$(cd "$work" && pwd)
export GOAMD64=v1
unset DSBUILD_REMOTE DSBUILD_REMOTE_UPLOAD DSBUILD_REMOTE_HEADERS DSBUILD_CACHE DSBUILD_TEMPORAL \
  AWS_PROFILE AWS_ENDPOINT_URL AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_CA_BUNDLE
if [ ! -x bin/versitygw ] || [ ! -x bin/temporal ]; then
  echo "# building the servers into bin/ (tools/build.sh; minutes the first time)" >&2
  bash tools/build.sh
fi
go build -o "$work/dsbuild" ./cmd/dsbuild
ds="$work/dsbuild"

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "# go: $(go version), GOAMD64=$GOAMD64, commit $(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
echo "# temporal: $("$repo/bin/temporal" --version 2>&1 | head -n 1)"
echo "# workdir: $work, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# pids, cleanup on exit, free_port
. "$repo/bench/servers.sh"
trap 'cleanup; rmgroups' EXIT
wait_port() { # PORT NAME
  local i
  for ((i = 0; i < 400; i++)); do
    if (: < "/dev/tcp/127.0.0.1/$1") 2> /dev/null; then return; fi
    sleep 0.05
  done
  echo "bench/distributed.sh: $2 does not listen on port $1" >&2
  exit 1
}
now_ms() { date +%s%3N; }

# ---- CPU quotas (WORKER_CPU) ----------------------------------------------
# limited NAME CMD...: runs CMD (exec, same pid) in a cgroup of its own
# that may use $worker_cpu cores; without WORKER_CPU, or with an empty
# NAME, runs CMD as it is.
cgroups=()
cgroot=""
if [ -n "$worker_cpu" ]; then
  quota=$(awk -v c="$worker_cpu" 'BEGIN {printf "%d", c * 100000}')
  if [ -w /sys/fs/cgroup/cgroup.subtree_control ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2> /dev/null; then
    cgroot=/sys/fs/cgroup cgv=2
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu > /sys/fs/cgroup/cgroup.subtree_control
  elif [ -w /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    cgroot=/sys/fs/cgroup/cpu cgv=1
  else
    echo "bench/distributed.sh: WORKER_CPU needs a writable cgroup cpu controller (run as root)" >&2
    exit 1
  fi
  echo "# each worker, and local -j 1, limited to $worker_cpu cores (cgroup v$cgv CPU quota)"
fi
limited() {
  local name=$1
  shift
  if [ -z "$cgroot" ] || [ -z "$name" ]; then
    exec "$@"
  fi
  local g="$cgroot/dsbuild-bench-$$-$name"
  mkdir -p "$g"
  if [ "$cgv" = 2 ]; then
    echo "$quota 100000" > "$g/cpu.max"
  else
    echo 100000 > "$g/cpu.cfs_period_us"
    echo "$quota" > "$g/cpu.cfs_quota_us"
  fi
  echo "$BASHPID" > "$g/cgroup.procs"
  exec "$@"
}
rmgroups() {
  [ -n "$cgroot" ] || return 0
  local g
  for g in "$cgroot"/dsbuild-bench-$$-*; do
    [ -d "$g" ] && rmdir "$g" 2> /dev/null || true
  done
}

# ---- servers -------------------------------------------------------------
# Every store starts empty: a worker or client store left by an earlier
# run would hold the results.
rm -rf "$work/s3" "$work/temporal.db" "$work"/w[0-9]* "$work"/client-* "$work"/local-*
mkdir -p "$work/s3/dsbuild"
s3port=$(free_port)
ROOT_ACCESS_KEY=dsbuild ROOT_SECRET_KEY=dsbuild-secret \
  "$repo/bin/versitygw" --port "127.0.0.1:$s3port" --region us-east-1 --quiet --keep-alive posix "$work/s3" > "$work/versitygw.log" 2>&1 &
pids+=($!)
s3pid=$!
wait_port "$s3port" versitygw
tport=$(free_port)
"$repo/bin/temporal" server start-dev --ip 127.0.0.1 --port "$tport" --headless \
  --db-filename "$work/temporal.db" --log-level error > "$work/temporal.log" 2>&1 &
pids+=($!)
tpid=$!
wait_port "$tport" temporal
for ((i = 0; i < 100; i++)); do
  "$repo/bin/temporal" operator cluster health --address "127.0.0.1:$tport" 2> /dev/null | grep -q SERVING && break
  sleep 0.2
done
export AWS_ACCESS_KEY_ID=dsbuild AWS_SECRET_ACCESS_KEY=dsbuild-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3port" DSBUILD_TEMPORAL="127.0.0.1:$tport"

# ---- the recipe ----------------------------------------------------------
rec="$work/rec"
mkdir -p "$rec"
# The workload: the image size and figures the import makes, and the ops
# the transform runs on them.
if [ "$workload" = photos ]; then
  w=640 h=480 figures=1-3
  ops='instances_crop {
    classes = ["person"]
    pad     = "10%"
  }
  resize {
    width  = 256
    height = 256
  }
  flip {
    direction = "left_right"
  }'
  what="640×480 photos: person crops, padded 10 %, to 256×256, mirrored"
else
  w=$size h=$size figures=1-2
  ops="poly2bitmap {}
  resize {
    width  = $((size / 2))
    height = $((size / 2))
  }"
  what="${size}×${size} to $((size / 2))×$((size / 2))"
fi
cat > "$rec/main.hcl" << EOF
variable "run" {
  default = "0"
}
import "syn" {
  format  = "synthetic"
  options = { count = "$count", width = "$w", height = "$h", figures = "$figures", seed = var.run }
}
transform "small" {
  from       = [import.syn]
  shard_size = $shard_size
  $ops
}
EOF
# cpu PID: the user + system CPU seconds of a process (and its waited-for
# children) so far.
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15 + $16 + $17) / t}' "/proc/$1/stat" 2> /dev/null || echo 0; }

# ---- local baseline ------------------------------------------------------
echo "## transform of $count items ($what, shard_size $shard_size)"
maxw=$(echo "$counts" | tr ' ' '\n' | sort -n | tail -n 1)
for j in 1 "$maxw"; do
  rm -rf "$work/local-$j" "$rec/dsbuild.lock"
  "$ds" --remote '' --cache "$work/local-$j" build -j "$j" -var run=7 "$rec" import.syn > /dev/null
  t0=$(now_ms)
  lim=""
  [ "$j" = 1 ] && lim=local-1 # one worker's machine
  (limited "$lim" /usr/bin/time -f '%U %S' -o "$work/local-$j.cpu" "$ds" --remote '' --cache "$work/local-$j" build -j "$j" -var run=7 "$rec" transform.small) > "$work/local-$j.out"
  t1=$(now_ms)
  grep -q '^ran .*transform.small' "$work/local-$j.out" || { cat "$work/local-$j.out"; exit 1; }
  lcpu=$(awk '{printf "%.1f", $1 + $2}' "$work/local-$j.cpu")
  echo "local -j $j                 $((t1 - t0)) ms   $(awk -v n="$count" -v ms=$((t1 - t0)) 'BEGIN {printf "%.0f items/s", n / ms * 1000}')   cpu ${lcpu} s ($(awk -v c="$lcpu" -v n="$count" 'BEGIN {printf "%.2f ms/item", c * 1000 / n}'))"
  eval "local_ms_$j=$((t1 - t0))"
  cp "$rec/dsbuild.lock" "$work/lock-local"
done

# ---- distributed ---------------------------------------------------------
one_ms=""
for n in $counts; do
  prefix="run$n"
  export DSBUILD_REMOTE="s3://dsbuild/$prefix"
  wp=()
  for ((w = 1; w <= n; w++)); do
    prof=""
    [ -n "${PROFILE:-}" ] && prof="$work/w$n-$w.prof"
    limited "w$n-$w" env DSBUILD_CPUPROFILE="$prof" "$ds" worker --cache "$work/w$n-$w" --work-dir "$work/w$n-$w-dir" --name "w$w" -j 1 > "$work/w$n-$w.log" 2>&1 &
    wp+=($!)
    pids+=($!)
  done
  rm -f "$rec/dsbuild.lock"
  # The import, apart (its items are not memoized, so not sharded).
  "$ds" --cache "$work/client-$n" build --executor temporal -var run=7 "$rec" import.syn > "$work/dist-$n-import.out" 2>&1
  s3c0=$(cpu "$s3pid") tc0=$(cpu "$tpid")
  wc0=0
  for p in "${wp[@]}"; do wc0=$(awk -v a="$wc0" -v b="$(cpu "$p")" 'BEGIN {print a + b}'); done
  t0=$(now_ms)
  /usr/bin/time -f '%U %S' -o "$work/dist-$n.cpu" "$ds" --cache "$work/client-$n" build --executor temporal -var run=7 "$rec" transform.small > "$work/dist-$n.out" 2> "$work/dist-$n.err"
  t1=$(now_ms)
  wc1=0
  for p in "${wp[@]}"; do wc1=$(awk -v a="$wc1" -v b="$(cpu "$p")" 'BEGIN {print a + b}'); done
  s3c=$(awk -v a="$s3c0" -v b="$(cpu "$s3pid")" 'BEGIN {printf "%.1f", b - a}')
  tc=$(awk -v a="$tc0" -v b="$(cpu "$tpid")" 'BEGIN {printf "%.1f", b - a}')
  wc=$(awk -v a="$wc0" -v b="$wc1" 'BEGIN {printf "%.1f", b - a}')
  cc=$(awk '{printf "%.1f", $1 + $2}' "$work/dist-$n.cpu")
  grep -q "transform.small (.*$count items: 0 ran, $count cached)" "$work/dist-$n.out" ||
    grep -q "transform.small" "$work/dist-$n.out" || { cat "$work/dist-$n.out" "$work/dist-$n.err"; exit 1; }
  ms=$((t1 - t0))
  [ -z "$one_ms" ] && one_ms=$ms
  same="differs"
  cmp -s "$rec/dsbuild.lock" "$work/lock-local" && same="= local"
  id=$(grep -o 'dsbuild-build-[0-9a-f]*' "$work/dist-$n.err" | head -n 1)
  history() { # WORKFLOW-ID: its history's events and bytes
    "$repo/bin/temporal" workflow describe --workflow-id "$1" --address "$DSBUILD_TEMPORAL" -o json 2> /dev/null |
      awk -F'[:,]' '/"historyLength"/ {gsub(/[" ]/, "", $2); l=$2} /"historySizeBytes"/ {gsub(/[" ]/, "", $2); b=$2} END {if (l == "") print "none"; else printf "%s events, %s bytes", l, b}' || true
  }
  hist="build $(history "$id"); shards (child workflow) $(history "$id/transform.small/shards-1")"
  printf '%-26s %6d ms   %s   speed-up %s   lockfile %s   history %s\n' "temporal, $n worker(s)" "$ms" \
    "$(awk -v n="$count" -v ms="$ms" 'BEGIN {printf "%.0f items/s", n / ms * 1000}')" \
    "$(awk -v a="$one_ms" -v b="$ms" 'BEGIN {printf "%.2f×", a / b}')" "$same" "$hist"
  echo "    cpu: workers $wc s ($(awk -v c="$wc" -v n="$count" 'BEGIN {printf "%.2f ms/item", c * 1000 / n}')), versitygw $s3c s, temporal $tc s, client $cc s"
  grep -h 'shard\|item results' "$work"/w"$n"-*.log | sed 's/^.*worker: /    /' | sort -V | head -n 40 || true
  for p in "${wp[@]}"; do
    kill -INT "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
done
echo "overhead per item vs local -j 1: $(awk -v a="$one_ms" -v b="$local_ms_1" -v n="$count" 'BEGIN {printf "%.2f ms (%d ms vs %d ms)", (a - b) / n, a, b}')"
