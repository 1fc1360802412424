#!/usr/bin/env bash
# Builds the GPU check binaries here, for a GPU machine without Go:
# gpucheck (GPU vs CPU throughput and agreement), gpu.test (the tests
# of model/gpu) and dsbuild (for the end-to-end check on testdata/gpu). Both are cgo-free, for any x86-64 (GOAMD64=v1).
#
# Usage: bench/gpu.sh [DIR]   (default bench/out/gpu, git-ignored)
# Then, on the GPU machine, from the repository root: bench/gpu-run.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-bench/out/gpu}
mkdir -p "$dir"
export CGO_ENABLED=0 GOAMD64=v1
go build -o "$dir/gpucheck" ./model/gpu/gpucheck
go test -c -o "$dir/gpu.test" ./model/gpu
go build -o "$dir/dsbuild" ./cmd/dsbuild
echo "built $dir/gpucheck, $dir/gpu.test and $dir/dsbuild"
