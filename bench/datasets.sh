#!/usr/bin/env bash
# Benchmarks of issue 3: importing a 10,000-image synthetic COCO dataset.
#
#   1. a full import into a fresh store: wall time and peak RSS
#      (target: streams, peak RSS < 300 MB);
#   2. a rebuild with nothing changed (target: < 1 s).
#
# Usage: bench/datasets.sh [WORKDIR] [COUNT]   (default: a temporary
# directory and 10000 images; needs about 1 GiB free)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
count=${2:-10000}
mkdir -p "$work"
export GOAMD64=v1
go build -o "$work/dsbuild" ./cmd/dsbuild
go build -o "$work/dsbench" ./bench/dsbench
ds="$work/dsbuild"
bench="$work/dsbench"

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "# go: $(go version), GOAMD64=$GOAMD64, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

rec="$work/coco-recipe"
if [ ! -f "$rec/coco/annotations/instances_synthetic.json" ]; then
  rm -rf "$rec"
  mkdir -p "$rec"
  echo "## generating $count synthetic images as COCO (RLE masks)"
  "$ds" --cache "$work/gen-store" convert --from synthetic - \
    --from-option count="$count" --from-option width=256 --from-option height=256 \
    --from-option figures=1-3 --from-option seed=7 \
    --to coco "$rec/coco"
  rm -rf "$work/gen-store"
fi
du -sh "$rec/coco"
ls -l "$rec/coco/annotations"
printf 'import "coco" {\n  format = "coco"\n  path   = "coco"\n}\n' > "$rec/main.hcl"

echo "## 1. full import into a fresh store"
"$bench" time 3 --prepare "rm -rf '$work/store' '$rec/dsbuild.lock'" "$ds" --cache "$work/store" build "$rec"
"$ds" --cache "$work/store" build "$rec" > /dev/null
echo "## 2. rebuild with nothing changed"
sleep 2.1 # the stat cache does not remember files changed in the last 2 s
"$ds" --cache "$work/store" build "$rec" > /dev/null
"$bench" time 10 "$ds" --cache "$work/store" build "$rec"
"$ds" --cache "$work/store" stats "$rec" import.coco | head -n 8
