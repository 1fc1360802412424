#!/usr/bin/env bash
# Runs on a GPU machine, from the repository root, what bench/gpu.sh
# built: the model/gpu tests, gpucheck at sizes 64 and 256, and an
# end-to-end CPU-vs-GPU pre-annotation with dsbuild. Output
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
# End to end: the same images pre-annotated on the CPU and on the GPU
# (testdata/gpu), compared with dsbuild diff; device = "auto" must pick
# the GPU.
store=$(mktemp -d)
DSBUILD_CACHE=$store "$dir/dsbuild" build testdata/gpu 2>&1 | save e2e-build.txt || rc=1
DSBUILD_CACHE=$store "$dir/dsbuild" diff testdata/gpu preannotate.cpu preannotate.gpu 2>&1 | save e2e-diff.txt || rc=1
DSBUILD_CACHE=$store "$dir/dsbuild" stats testdata/gpu preannotate.gpu 2>&1 | save e2e-stats.txt || rc=1
rm -rf "$store"
exit $rc
