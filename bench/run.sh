#!/usr/bin/env bash
# Benchmarks of issue 2, each against its baseline in one run on one machine:
#
#   1. no-op rebuild of a 200-step recipe over 10,000 source files
#      (target: median ≤ 100 ms, peak RSS < 100 MB);
#   2. hashing 1 GiB of files (1,024 × 1 MiB) into a fresh store, against
#      sha256sum over the same files (target: ≥ 2.5× faster), with sources
#      stored the default way (link = "copy": a reflink where WORKDIR's file
#      system supports it, else a copy; the script says which) and by hard
#      link (files { link = "hard" }). Run it once with WORKDIR on a file
#      system without reflink (ext4) and once on one with it (XFS, btrfs)
#      to time both paths of the default.
#
# Usage: bench/run.sh [WORKDIR [noop|hash]]
#   WORKDIR: default a temporary directory; needs ~3 GiB (~2 GiB for hash).
#   noop|hash: run only that benchmark (default: both).
# Results go to stdout; record them in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
only=${2:-}
mkdir -p "$work"
export GOAMD64=v1
go build -o "$work/dsbuild" ./cmd/dsbuild
go build -o "$work/dsbench" ./bench/dsbench
ds="$work/dsbuild"
bench="$work/dsbench"

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "# go: $(go version), GOAMD64=$GOAMD64, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

echo "# workdir: $work ($(df -T "$work" | awk 'NR == 2 {print $2}'))"

if [ "$only" != hash ]; then
echo "## 1. no-op rebuild: 200 steps, 10,000 source files"
rm -rf "$work/noop" "$work/noop-store"
"$bench" gen-noop "$work/noop"
"$ds" --cache "$work/noop-store" build "$work/noop" | tail -n 1
sleep 2.1 # the stat cache does not remember files changed in the last 2 s
"$ds" --cache "$work/noop-store" build "$work/noop" | tail -n 1
"$bench" time 30 "$ds" --cache "$work/noop-store" build "$work/noop"
fi
[ "$only" = noop ] && exit 0

echo "## 2. hashing 1 GiB into a fresh store vs sha256sum"
rm -rf "$work/hash"
"$bench" gen-hash "$work/hash"
mkdir -p "$work/hash-hard"
ln -sfn ../hash/data "$work/hash-hard/data"
printf 'files "images" {\n  path = "data"\n  link = "hard"\n}\n' > "$work/hash-hard/main.hcl"
probe="$work/hash/data/.reflink-probe"
if cp --reflink=always "$(find "$work/hash/data" -type f | head -1)" "$probe" 2> /dev/null; then
  default="reflinks"
else
  default="copies (no reflink on this file system)"
fi
rm -f "$probe"
cd "$work/hash"
find data -type f | sort | xargs cat > /dev/null # warm the page cache
sync # write back the generated files before timing anything
echo "sha256sum:"
"$bench" time 5 sh -c 'find data -type f | sort | xargs sha256sum > /dev/null'
# Before each run (untimed): a fresh store, and no dirty pages left by the
# previous run (a copy leaves 1 GiB to write back, which slowed whatever ran
# next by up to 2x).
fresh="rm -rf '$work/hash-store' && sync"
echo "dsbuild build (the default, link = \"copy\": $default):"
"$bench" time 5 --prepare "$fresh" "$ds" --cache "$work/hash-store" build "$work/hash"
echo "dsbuild build (link = \"hard\"):"
"$bench" time 5 --prepare "$fresh" "$ds" --cache "$work/hash-store" build "$work/hash-hard"
rm -rf "$work/hash-store"
chmod u+w "$work"/hash/data/*/* # link = "hard" made them read-only
