#!/bin/sh
# Compile-only check of the cu-tagged runner (cu.go) without CUDA, as in
# gorgonia-gpu.md §9.3: gorgonia.org/cu's bundled header cmd/genlib/cuda.h,
# trimmed, and a stub libcuda.so with empty bodies. The binaries it links
# import the legacy (un-suffixed) entry points and must never be run.
# Needs go and a C compiler (cc). Usage: model/gpu/cucheck.sh [workdir]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
dir=${1:-$(mktemp -d)}
mkdir -p "$dir/include" "$dir/lib"
cu=$(go list -m -f '{{.Dir}}' gorgonia.org/cu)
[ -n "$cu" ] || { go mod download gorgonia.org/cu; cu=$(go list -m -f '{{.Dir}}' gorgonia.org/cu); }

# The header: the inlined C library (everything before CUDA's own
# typedefs) replaced by the real includes, an include guard, and the two
# texture-reference macros that preprocessing lost.
{
	printf '#ifndef DSBUILD_CUDA_STUB_H\n#define DSBUILD_CUDA_STUB_H\n'
	printf '#include <stddef.h>\n#include <stdint.h>\n#include <stdlib.h>\n'
	printf '#define CU_TRSF_READ_AS_INTEGER 0x01\n#define CU_TRSF_NORMALIZED_COORDINATES 0x02\n'
	sed -n '/^typedef uint32_t cuuint32_t;/,$p' "$cu/cmd/genlib/cuda.h"
	printf '#endif\n'
} >"$dir/include/cuda.h"

# The stub: every driver function that cu calls, as an empty body.
grep -ohE 'C\.cu[A-Z][A-Za-z0-9_]*|\bcu[A-Z][A-Za-z0-9_]*\(' "$cu"/*.go "$cu"/*.c |
	sed -E 's/^C\.//; s/\($//' | sort -u |
	while read -r f; do
		grep -qE "\b$f\(" "$dir/include/cuda.h" && printf 'int %s(void) { return 0; }\n' "$f"
	done >"$dir/stub.c"
cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$dir/lib/libcuda.so" "$dir/stub.c"
echo "cucheck: $(grep -c . "$dir/stub.c") stub entry points in $dir/lib/libcuda.so"

export CGO_ENABLED=1 CGO_CFLAGS="-I$dir/include" CGO_LDFLAGS="-L$dir/lib"
go vet -tags cu ./model/gpu ./model/gpu/gpucheck
go build -tags cu -o "$dir/gpucheck-cu" ./model/gpu/gpucheck
go test -c -tags cu -o "$dir/gpu-cu.test" ./model/gpu
echo "cucheck: go vet, go build and go test -c with -tags cu passed (binaries in $dir: do not run them)"
