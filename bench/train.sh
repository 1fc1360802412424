#!/usr/bin/env bash
# Training benchmark: dsbuild's UNet training (bench/trainbench) against
# PyTorch (bench/torch_unet.py, Debian's python3-torch, installed here when
# missing) with the same network, loss, optimiser and batch, side by side
# on one machine. Each side times its own steps after 2 warm-up steps
# (wall and CPU seconds) and reports its own peak RSS; this script prints
# a markdown table and the dsbuild/PyTorch ratios. With REPEAT=N the pair
# runs N times, alternating, and every run is printed: on a shared
# machine one run says little.
#
# Usage: [SIZE=256] [BATCH=8] [STEPS=6] [DEPTH=4] [WIDTH=16] [REPEAT=1] [PROFILE=1] bench/train.sh
#   PROFILE=1 also writes bench/out/train.pprof (dsbuild's CPU profile of
#   the last run) and prints its top 25 functions.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-256} BATCH=${BATCH:-8} STEPS=${STEPS:-6} DEPTH=${DEPTH:-4} WIDTH=${WIDTH:-16} REPEAT=${REPEAT:-1}
py=/usr/bin/python3
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy > /dev/null
  else
    echo "train.sh: $py lacks torch; install python3-torch" >&2
    exit 1
  fi
fi
echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')), $(uname -sr)"
echo "# go: $(go version), GOAMD64=${GOAMD64:-default}, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- model bench 2>/dev/null || echo ' (modified)'); $("$py" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__)')"
echo "# environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} DSBUILD_GEMM=${DSBUILD_GEMM:-unset}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# size $SIZE, batch $BATCH, steps $STEPS (2 warm-up), depth $DEPTH, width $WIDTH, $REPEAT run(s)"

prof=()
if [ "${PROFILE:-0}" = 1 ]; then
  mkdir -p bench/out
  prof=(-cpuprofile bench/out/train.pprof)
fi
args=(-size "$SIZE" -batch "$BATCH" -steps "$STEPS" -depth "$DEPTH" -width "$WIDTH")
bin=$(mktemp -d)/trainbench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/trainbench
runs=()
for i in $(seq "$REPEAT"); do
  # Each side prints one JSON line on stdout; dsbuild's other output is passed on to stderr.
  out=$("$bin" "${args[@]}" "${prof[@]}")
  grep -v '^{' <<< "$out" >&2 || true
  runs+=("$(grep '^{' <<< "$out" | tail -n 1)")
  runs+=("$("$py" bench/torch_unet.py bench --size "$SIZE" --batch "$BATCH" --steps "$STEPS" --depth "$DEPTH" --width "$WIDTH" | tail -n 1)")
done

"$py" - "${runs[@]}" <<'PY'
import json, sys
runs = [json.loads(a) for a in sys.argv[1:]]
print("| run | impl | params | micro batch | s/step | CPU s/step | peak RSS (MB) |")
print("|---:|---|---:|---:|---:|---:|---:|")
for i, r in enumerate(runs):
    name = r["impl"] + (" " + r["torch"] if "torch" in r else "") + (f" ({r['gemm']})" if "gemm" in r else "")
    print(f"| {i // 2 + 1} | {name} | {r['params']} | {r.get('micro_batch', r['batch'])} | {r['s_per_step']:.3f} | {r['cpu_s_per_step']:.3f} | {r['peak_rss_mb']:.0f} |")
for i in range(0, len(runs), 2):
    ds, pt = runs[i], runs[i + 1]
    print(f"run {i // 2 + 1}: dsbuild/pytorch time {ds['s_per_step'] / pt['s_per_step']:.2f}x, "
          f"CPU time {ds['cpu_s_per_step'] / pt['cpu_s_per_step']:.2f}x, memory {ds['peak_rss_mb'] / pt['peak_rss_mb']:.2f}x")
    for k in ("size", "batch", "depth", "width", "params"):
        if ds.get(k) != pt.get(k):
            print(f"WARNING: {k} differs: dsbuild {ds.get(k)}, pytorch {pt.get(k)}")
PY

if [ "${PROFILE:-0}" = 1 ]; then
  go tool pprof -top -nodecount=25 "$bin" bench/out/train.pprof
fi
