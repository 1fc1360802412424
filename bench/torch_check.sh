#!/usr/bin/env bash
# Cross-checks dsbuild's Go forward pass against PyTorch: runs both on the
# same deterministic input and compares logits (bench/torch_unet.py check:
# max abs diff ≤ 1e-3, mask agreement ≥ 0.999).
#
# Usage: bench/torch_check.sh MODEL_DIR   (config.json + weights.safetensors)
#        [N=2] images of the configured input size.
set -euo pipefail
model=$(realpath "${1:?usage: bench/torch_check.sh MODEL_DIR}")
cd "$(dirname "$0")/.."
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# N x 3 x S x S float32: random 8-bit RGB scaled to [0, 1], as the model's input.
"$py" - "$model/config.json" "${N:-2}" "$tmp/in.f32" <<'PY'
import json, sys, numpy as np
doc = json.load(open(sys.argv[1]))
s = doc.get("config", doc)["input_size"]
x = np.random.default_rng(1).integers(0, 256, (int(sys.argv[2]), 3, s, s)) / np.float32(255)
x.astype("<f4").tofile(sys.argv[3])
PY
go run ./bench/forward "$model" "$tmp/in.f32" "$tmp/logits.f32"
"$py" bench/torch_unet.py check "$model" "$tmp/in.f32" "$tmp/logits.f32"
