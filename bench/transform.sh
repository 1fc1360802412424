#!/usr/bin/env bash
# Benchmarks of issue 4: the transform pipeline against what a DTL user
# would otherwise run, a Python + OpenCV script (bench/dtl_baseline.py,
# Debian's python3-opencv, installed here when missing), over the same
# synthetic JPEG images in one run on one machine:
#   instances_crop (10 % padding) → resize 256×256 → mirror → PNG.
#
#   1. throughput: dsbuild's transform step vs the script (target ≥ 1.0×);
#   2. peak RSS at N and 2N images (target: bounded, independent of size);
#   3. rebuild after adding 1 % more images (target ≤ 5 % of a full build).
#
# Usage: bench/transform.sh [WORKDIR] [N]   (default: a temporary directory, 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=${1:-$(mktemp -d)}
n=${2:-2000}
mkdir -p "$work"
export GOAMD64=v1
if ! /usr/bin/python3 -c 'import cv2' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-opencv > /dev/null
fi
go build -o "$work/dsbuild" ./cmd/dsbuild
go build -o "$work/dsbench" ./bench/dsbench
ds="$work/dsbuild"
bench="$work/dsbench"
echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "# go: $(go version), GOAMD64=$GOAMD64, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(/usr/bin/python3 -c 'import cv2, sys; print("python", sys.version.split()[0], "opencv", cv2.__version__)')"

project() { # project COUNT DIR: COUNT synthetic 256x256 JPEGs as a Supervisely project
  [ -f "$2/meta.json" ] && return
  "$ds" --cache "$work/gen-store" convert --from synthetic - --from-option count="$1" \
    --from-option width=256 --from-option height=256 --from-option figures=1-3 --from-option seed=9 \
    --to supervisely "$2" > /dev/null
}
recipe() { # recipe DIR PROJECT
  mkdir -p "$1"
  ln -sfn "$2" "$1/project"
  cat > "$1/main.hcl" <<'HCL'
variable "run" {
  default = "0"
}

import "images" {
  format = "supervisely"
  path   = "project"
}

transform "crops" {
  from = [import.images]
  instances_crop {
    classes = ["person"]
    pad     = "10%"
  }
  resize {
    width  = 256
    height = 256
  }
  flip {
    direction = "left_right"
  }
  tag {
    add = ["run-${var.run}"] # a new key per timed run, so the step runs again
  }
}
HCL
}

project "$n" "$work/p$n"
recipe "$work/r$n" "$work/p$n"
echo "## 1. throughput over $n images"
echo "python + opencv:"
"$bench" time 3 --prepare "rm -rf '$work/py-out'" /usr/bin/python3 "$repo/bench/dtl_baseline.py" "$work/p$n" "$work/py-out"
"$ds" --cache "$work/store" build "$work/r$n" > /dev/null # the import, once
echo "dsbuild (the transform step; the import is cached):"
echo 'i=$(( $(cat '"$work"'/runs 2>/dev/null || echo 0) + 1 )); echo $i > '"$work"'/runs; echo "run = \"$i\"" > '"$work"'/vars.hcl' > "$work/next-run.sh"
"$bench" time 3 --prepare "sh '$work/next-run.sh'" "$ds" --cache "$work/store" build -var-file "$work/vars.hcl" "$work/r$n"
"$ds" --cache "$work/store" stats "$work/r$n" transform.crops | head -n 1

echo "## 2. peak RSS at $n and $((2 * n)) images (full build, fresh store)"
project "$((2 * n))" "$work/p$((2 * n))"
recipe "$work/r$((2 * n))" "$work/p$((2 * n))"
for m in "$n" "$((2 * n))"; do
  "$bench" time 1 --prepare "rm -rf '$work/rss-store' '$work/r$m/dsbuild.lock'" "$ds" --cache "$work/rss-store" build "$work/r$m"
done

echo "## 3. adding 1 % more images"
more=$(( n + n / 100 ))
project "$more" "$work/p$more"
rm -rf "$work/inc" "$work/inc-store"
cp -r "$work/p$n" "$work/inc-project"
recipe "$work/inc" "$work/inc-project"
echo "full build of $n:"
"$bench" time 1 "$ds" --cache "$work/inc-store" build "$work/inc"
for f in $(cd "$work/p$more" && find . -type f | sort); do
  [ -e "$work/inc-project/$f" ] || { mkdir -p "$(dirname "$work/inc-project/$f")"; cp "$work/p$more/$f" "$work/inc-project/$f"; }
done
echo "rebuild after adding $((more - n)) images:"
"$bench" time 1 "$ds" --cache "$work/inc-store" build "$work/inc"
"$ds" --cache "$work/inc-store" build "$work/inc"
rm -rf "$work/inc-project"
