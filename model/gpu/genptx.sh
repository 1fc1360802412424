#!/bin/sh
# Regenerates kernels.ptx from kernels.cu without the CUDA SDK (see
# docs/gpu.md). Usage: genptx.sh [output], default kernels.ptx beside this
# script; run by `go generate ./model/gpu` and checked by TestPTXUpToDate.
set -eu
dir=$(dirname "$0")
out=${1:-$dir/kernels.ptx}
exec clang-14 -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_70 \
	-O3 -ffp-contract=off -S -o "$out" "$dir/kernels.cu"
