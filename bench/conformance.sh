#!/usr/bin/env bash
# Regenerates testdata/conformance: the reference that model/train's
# TestTorchConformance compares dsbuild's training with. The Go test writes
# the inputs (tiny UNet, fixed samples and sample order, dsbuild's initial
# weights), bench/torch_conformance.py trains the same network on them in
# PyTorch (float64) and writes the per-step losses and final weights; then
# the Go test runs against the new reference. Run it by hand: PyTorch is
# not a CI dependency (Debian's python3-torch, installed here when missing).
#
# Usage: bench/conformance.sh [OUT_DIR=testdata/conformance]
set -euo pipefail
cd "$(dirname "$0")/.."
export GOAMD64=${GOAMD64:-v1}
out=${1:-testdata/conformance}
py=/usr/bin/python3
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy > /dev/null
  else
    echo "conformance.sh: $py lacks torch; install python3-torch" >&2
    exit 1
  fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test ./model/train -run '^TestTorchConformance$' -count=1 -args -conformance.inputs "$tmp" > /dev/null
"$py" bench/torch_conformance.py "$tmp" "$out"
if [ "$out" = testdata/conformance ]; then
  go test ./model/train -run '^TestTorchConformance$' -count=1 -v
fi
