#!/usr/bin/env bash
# Runs on a GPU machine, from the repository root, what bench/gpu.sh
# built: the model/gpu tests, then gpucheck at sizes 64 and 256. Output
# goes to stdout and, when $OUT is set, to files there too.
#
# Usage: bench/gpu-run.sh [DIR]   (default bench/out/gpu)
set -uo pipefail
dir=$(cd "${1:-bench/out/gpu}" && pwd)
save() { if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && tee "$OUT/$1"; else cat; fi; }
rc=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | save nvidia-smi.txt
# The tests read testdata/ and genptx.sh beside them.
(cd model/gpu && "$dir/gpu.test" -test.v -test.count=1 -test.timeout=8m) 2>&1 | save gpu-test.txt || rc=1
for size in 64 256; do
	"$dir/gpucheck" -size "$size" | save "gpucheck-$size.json" || rc=1
done
exit $rc
