#!/usr/bin/env bash
# Benchmark of issue 14 item 7 (fast items): an empty-store build of
# import + transform over photo-sized images, against what a DTL user would
# otherwise run, a Python + OpenCV script (bench/dtl_baseline.py, Debian's
# python3-opencv, installed here when missing), in one run on one machine.
#
# Workload: N synthetic 640×480 JPEG images (quality 90, 1–3 figures drawn
# per image, seed 9: about two persons each), as a Supervisely project; the
# pipeline of bench/transform.sh: for every person, crop its box padded by
# 10 %, resize to 256×256, mirror, write the image and its mask as PNG.
#
#   1. full build: dsbuild's import + transform into an empty store, and the
#      script over the same project, RUNS times each, alternating; prints the
#      throughput ratio (script time / dsbuild time, medians; target ≥ 1.5×);
#   2. where the full build's CPU time goes: one more full build under perf
#      (kernel time included) when perf can record here, and one with
#      DSBUILD_CPUPROFILE (Go code only), each summed by kind of work by
#      bench/cpushare.py;
#   3. rebuild after adding 1 % more images to the project (target ≤ 5 % of
#      the full build's median).
#
# Every timed run writes into a new directory, and the directories are
# removed only at the end: ext4 makes creating files slow for minutes after
# many deletions (recently_deleted), which would tax whichever side ran next;
# each timed run starts after a sync, so that no run pays for the previous
# one's writeback.
# The load averages are printed before each timed run; the machine should be
# quiet for figures worth recording.
#
# Usage: bench/items.sh [WORKDIR] [N]   (default: a temporary directory, 2000)
# Environment: RUNS (default 3), PROFILE=0 skips part 2.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=${1:-$(mktemp -d)}
n=${2:-2000}
runs=${RUNS:-3}
case "$n$runs" in *[!0-9]*) echo "items.sh: N and RUNS must be whole numbers" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] && [ "$runs" -ge 1 ] || { echo "items.sh: N and RUNS must be at least 1" >&2; exit 2; }
extra=$((n / 100 > 0 ? n / 100 : 1))
more=$((n + extra))
mkdir -p "$work"
work=$(cd "$work" && pwd)
export GOAMD64=${GOAMD64:-v1}
if ! /usr/bin/python3 -c 'import cv2' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-opencv > /dev/null
fi
go build -o "$work/dsbuild" ./cmd/dsbuild
go build -o "$work/dsbench" ./bench/dsbench
ds="$work/dsbuild"
bench="$work/dsbench"
echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "# go: $(go version), GOAMD64=$GOAMD64, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(/usr/bin/python3 -c 'import cv2, sys; print("python", sys.version.split()[0], "opencv", cv2.__version__)')"
TIMEFORMAT="wall %R s, user %U s, sys %S s"
load() { echo "# load average (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int(NR / 2) + 1]}'; } # dsbench's median
wall() { awk '{for (i = 1; i < NF; i++) if ($i == "median") {print $(i + 1); exit}}'; } # ms from dsbench's line

# The workload: the first N of MORE generated images are the project, the
# others the 1 % added in part 3 (an image depends on its index, not on the
# count, so these are the first N images of a count=N project).
gen="$work/gen$more"
if [ ! -f "$gen/meta.json" ]; then
  rm -rf "$gen"
  "$ds" --cache "$work/gen-store" convert --from synthetic - --from-option count="$more" \
    --from-option width=640 --from-option height=480 --from-option figures=1-3 --from-option seed=9 \
    --to supervisely "$gen" > /dev/null
fi
rm -rf "$work/project" "$work/extra" "$work"/out-*
for d in project extra; do mkdir -p "$work/$d/synthetic/img" "$work/$d/synthetic/ann"; done
cp "$gen/meta.json" "$work/project/"
(cd "$gen/synthetic/img" && ls | sort | head -n "$n" | xargs cp -t "$work/project/synthetic/img")
(cd "$gen/synthetic/img" && ls | sort | tail -n +"$((n + 1))" | xargs cp -t "$work/extra/synthetic/img")
(cd "$gen/synthetic/ann" && ls | sort | head -n "$n" | xargs cp -t "$work/project/synthetic/ann")
(cd "$gen/synthetic/ann" && ls | sort | tail -n +"$((n + 1))" | xargs cp -t "$work/extra/synthetic/ann")
/usr/bin/python3 - "$work/project" <<'PY'
import glob, json, os, sys
anns = sorted(glob.glob(os.path.join(sys.argv[1], "*", "ann", "*.json")))
imgs = [a.replace(os.sep + "ann" + os.sep, os.sep + "img" + os.sep)[: -len(".json")] for a in anns]
jpeg = sum(open(p, "rb").read(3) == b"\xff\xd8\xff" for p in imgs)
sizes, persons = set(), []
for a in anns:
    d = json.load(open(a))
    sizes.add((d["size"]["width"], d["size"]["height"]))
    persons.append(sum(o["classTitle"] == "person" for o in d["objects"]))
kb = sum(os.path.getsize(p) for p in imgs) / len(imgs) / 1000
hist = ", ".join(f"{k}: {persons.count(k)}" for k in sorted(set(persons)))
print(f"# workload: {len(imgs)} images ({jpeg} JPEG, mean {kb:.0f} kB), sizes {sorted(sizes)}, "
      f"{sum(persons)} persons ({sum(persons) / len(imgs):.2f} per image; images by persons {hist})")
PY

mkdir -p "$work/recipe"
ln -sfn "$work/project" "$work/recipe/project"
cat > "$work/recipe/main.hcl" <<'HCL'
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
}
HCL

echo "## 1. full build over $n images: dsbuild import + transform (empty store) vs python + opencv, $runs runs each"
ds_ms=()
py_ms=()
for i in $(seq "$runs"); do
  load
  line=$("$bench" time 1 --prepare "rm -f '$work/recipe/dsbuild.lock' && sync" \
    "$ds" --cache "$work/out-store-$i" build "$work/recipe")
  echo "dsbuild, run $i: $line"
  ds_ms+=("$(wall <<< "$line")")
  load
  line=$("$bench" time 1 --prepare sync /usr/bin/python3 "$repo/bench/dtl_baseline.py" "$work/project" "$work/out-py-$i")
  echo "python + opencv, run $i: $line"
  py_ms+=("$(wall <<< "$line")")
done
ds_med=$(printf '%s\n' "${ds_ms[@]}" | median)
py_med=$(printf '%s\n' "${py_ms[@]}" | median)
echo "crops: dsbuild $("$ds" --cache "$work/out-store-$runs" stats "$work/recipe" transform.crops | head -n 1 | sed 's/.*: //'), python $(find "$work/out-py-$runs" -name '*.mask.png' | wc -l)"
echo "medians: dsbuild $ds_med ms, python + opencv $py_med ms"
awk -v d="$ds_med" -v p="$py_med" 'BEGIN {printf "throughput ratio (python time / dsbuild time): %.2fx (target >= 1.5x)\n", p / d}'
cp "$work/recipe/dsbuild.lock" "$work/out-full.lock"

if [ "${PROFILE:-1}" != 0 ]; then
  echo "## 2. where the full build's CPU time goes (one more full build each)"
  if perf record -q -o /dev/null true 2>/dev/null; then
    load
    rm -f "$work/recipe/dsbuild.lock"
    echo "command: perf record -e cpu-clock -F 999 -g -o $work/out-perf.data $ds --cache $work/out-store-perf build $work/recipe"
    time perf record -q -e cpu-clock -F 999 -g -o "$work/out-perf.data" \
      "$ds" --cache "$work/out-store-perf" build "$work/recipe" > /dev/null
    perf script -F period,ip,sym,dso -i "$work/out-perf.data" 2> /dev/null | /usr/bin/python3 "$repo/bench/cpushare.py"
  else
    echo "(perf cannot record here: skipped)"
  fi
  load
  rm -f "$work/recipe/dsbuild.lock"
  echo "command: DSBUILD_CPUPROFILE=$work/out-cpu.prof $ds --cache $work/out-store-pprof build $work/recipe"
  time DSBUILD_CPUPROFILE="$work/out-cpu.prof" "$ds" --cache "$work/out-store-pprof" build "$work/recipe" > /dev/null
  go tool pprof -traces "$ds" "$work/out-cpu.prof" 2> /dev/null | /usr/bin/python3 "$repo/bench/cpushare.py"
fi

echo "## 3. rebuild after adding $extra images (1 %) to the project, $runs runs"
cp -r "$work/extra/." "$work/project/"
inc_ms=()
for i in $(seq "$runs"); do
  # The store and lockfile as the last full build left them.
  prep="cp -a '$work/out-store-$runs' '$work/out-inc-$i' && cp '$work/out-full.lock' '$work/recipe/dsbuild.lock' && sync"
  load
  line=$("$bench" time 1 --prepare "$prep" "$ds" --cache "$work/out-inc-$i" build "$work/recipe")
  echo "rebuild, run $i: $line"
  inc_ms+=("$(wall <<< "$line")")
done
echo "the rebuild's output (one more, untimed):"
cp -a "$work/out-store-$runs" "$work/out-inc-show"
cp "$work/out-full.lock" "$work/recipe/dsbuild.lock"
"$ds" --cache "$work/out-inc-show" build "$work/recipe"
inc_med=$(printf '%s\n' "${inc_ms[@]}" | median)
awk -v i="$inc_med" -v d="$ds_med" 'BEGIN {printf "rebuild median %.1f ms = %.1f %% of the full build median %.1f ms (target <= 5 %%)\n", i, 100 * i / d, d}'
load
rm -rf "$work"/out-* "$work/project" "$work/extra" "$work/recipe/dsbuild.lock"
