#!/usr/bin/env bash
# Training benchmark: dsbuild's UNet training (bench/trainbench, gorgonia)
# against PyTorch (bench/torch_unet.py, Debian's python3-torch, installed
# here when missing) with the same network, loss, optimiser and batch, in
# one run on one machine. Each side times its own steps after 2 warm-up
# steps and reports its own peak RSS; this script prints a markdown table
# and the dsbuild/PyTorch ratios.
#
# Usage: [SIZE=256] [BATCH=8] [STEPS=6] [DEPTH=4] [WIDTH=16] [PROFILE=1] bench/train.sh
#   PROFILE=1 also writes bench/out/train.pprof (dsbuild's CPU profile) and
#   prints its top 25 functions.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-256} BATCH=${BATCH:-8} STEPS=${STEPS:-6} DEPTH=${DEPTH:-4} WIDTH=${WIDTH:-16}
py=/usr/bin/python3
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy > /dev/null
  else
    echo "train.sh: $py lacks torch; install python3-torch" >&2
    exit 1
  fi
fi
echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "# go: $(go version), GOAMD64=${GOAMD64:-default}, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $("$py" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__)')"
echo "# size $SIZE, batch $BATCH, steps $STEPS (2 warm-up), depth $DEPTH, width $WIDTH"

prof=()
if [ "${PROFILE:-0}" = 1 ]; then
  mkdir -p bench/out
  prof=(-cpuprofile bench/out/train.pprof)
fi
args=(-size "$SIZE" -batch "$BATCH" -steps "$STEPS" -depth "$DEPTH" -width "$WIDTH")
# Each side prints one JSON line on stdout; dsbuild's other output is passed on to stderr.
out=$(go run ./bench/trainbench "${args[@]}" "${prof[@]}")
grep -v '^{' <<< "$out" >&2 || true
ds=$(grep '^{' <<< "$out" | tail -n 1)
pt=$("$py" bench/torch_unet.py bench --size "$SIZE" --batch "$BATCH" --steps "$STEPS" --depth "$DEPTH" --width "$WIDTH" | tail -n 1)

"$py" - "$ds" "$pt" <<'PY'
import json, sys
ds, pt = (json.loads(a) for a in sys.argv[1:])
print("| impl | params | micro batch | s/step | peak RSS (MB) |")
print("|---|---:|---:|---:|---:|")
for r in (ds, pt):
    name = r["impl"] + (" " + r["torch"] if "torch" in r else "")
    print(f"| {name} | {r['params']} | {r.get('micro_batch', r['batch'])} | {r['s_per_step']:.3f} | {r['peak_rss_mb']:.0f} |")
print(f"time ratio dsbuild/pytorch: {ds['s_per_step'] / pt['s_per_step']:.2f}x; "
      f"memory ratio: {ds['peak_rss_mb'] / pt['peak_rss_mb']:.2f}x")
for k in ("size", "batch", "depth", "width", "params"):
    if ds.get(k) != pt.get(k):
        print(f"WARNING: {k} differs: dsbuild {ds.get(k)}, pytorch {pt.get(k)}")
PY

if [ "${PROFILE:-0}" = 1 ]; then
  go tool pprof -top -nodecount=25 bench/out/train.pprof
fi
