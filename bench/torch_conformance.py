#!/usr/bin/env python3
"""Trains dsbuild's UNet in PyTorch on the conformance inputs and writes the reference.

  torch_conformance.py INPUTS_DIR OUT_DIR [--keep-grad]

INPUTS_DIR holds what model/train's TestTorchConformance writes with
-conformance.inputs (bench/conformance.sh does it all):

  inputs.json                 the architecture, steps, learning rate, loss weights,
                              the variants (batch_norm, batch, micro_batch, init file)
                              and the sample indices of every step
  x.f32, y.f32, w.f32         rendered inputs (N x 3 x S x S), labels and pixel
                              weights (N x S x S), little-endian float32
  init_plain.safetensors,     dsbuild's initial weights (model.Init)
  init_bn.safetensors

Each variant trains in float64 with augmentation off: for every step, the
gradient is zeroed, each micro-batch runs forward and backward with the
whole batch's normalisers (1 / the batch's total pixel weight for BCE,
1 / batch for dice), so the micro-batch gradients sum to the whole batch's,
and Adam (betas 0.9/0.999, eps 1e-8) steps once; a variant with
"schedule": "cosine" sets Adam's rate with CosineAnnealingLR (T_max = the
steps, eta_min 0), stepped after every optimizer step. BatchNorm runs in training
mode: normalised with the micro-batch's biased variance, running statistics
updated per micro-batch as running = 0.9 * running + 0.1 * batch, with the
unbiased variance for running_var.

OUT_DIR receives reference.json ({"torch", "dtype", "inputs": {file: sha256},
"losses": {variant: [loss per step]}}) and VARIANT.safetensors (the final
weights and running statistics, float32, dsbuild's tensor names).

--keep-grad never zeroes the gradient: each step then uses the sum of every
step's gradient so far, dsbuild's bug of issue 12 (for diagnosis only).
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_unet import UNet, read_safetensors, write_safetensors  # noqa: E402

LOSS_TOL, WEIGHT_TOL = 1e-4, 1e-3  # TestTorchConformance's tolerances
FILES = ("inputs.json", "x.f32", "y.f32", "w.f32", "init_plain.safetensors", "init_bn.safetensors")


def loss_fn(z, y, w, inv_m, inv_b, w_bce, w_dice):
    """dsbuild's UNet_v2 loss of one micro-batch, scaled by the whole batch's constants."""
    bce = (w * (F.softplus(z) - y * z)).sum() * inv_m
    p = torch.sigmoid(z)
    dims = (1, 2, 3)
    dice = (2 * (w * p * y).sum(dims) + 1) / ((w * p).sum(dims) + (w * y).sum(dims) + 1)
    dice_loss = (1 - dice).sum() * inv_b
    return (w_bce * bce + w_dice * dice_loss) / (w_bce + w_dice)


def train(man, variant, x, y, w, init, keep_grad, dtype=torch.float64):
    cfg = dict(man["config"], batch_norm=variant["batch_norm"])
    model = UNet(cfg).to(dtype)
    x, y, w = x.to(dtype), y.to(dtype), w.to(dtype)
    model.load_state_dict({k: torch.from_numpy(a) for k, a in init.items()}, strict=True)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=man["lr"], betas=(0.9, 0.999), eps=1e-8)
    sched = None
    if variant.get("schedule", "constant") == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=man["steps"], eta_min=0)
    elif variant.get("schedule", "constant") != "constant":
        sys.exit(f"variant {variant['name']}: unknown schedule {variant['schedule']!r}")
    batch, micro = variant["batch"], variant["micro_batch"]
    if batch % micro:
        sys.exit(f"variant {variant['name']}: micro_batch {micro} does not divide batch {batch}")
    losses = []
    for step in range(man["steps"]):
        idx = man["batches"][step]
        if len(idx) != batch:
            sys.exit(f"step {step + 1}: {len(idx)} samples, batch {batch}")
        if not keep_grad:
            opt.zero_grad(set_to_none=True)
        total_w = float(w[idx].sum())
        inv_m = 1 / total_w if total_w != 0 else 1.0
        total = 0.0
        for mb in range(batch // micro):
            sel = idx[mb * micro:(mb + 1) * micro]
            loss = loss_fn(model(x[sel]), y[sel], w[sel], inv_m, 1 / batch, man["bce"], man["dice"])
            loss.backward()
            total += loss.item()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(total)
    out = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    return losses, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs")
    ap.add_argument("out")
    ap.add_argument("--keep-grad", action="store_true")
    a = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    raw = {}
    for name in FILES:
        with open(os.path.join(a.inputs, name), "rb") as f:
            raw[name] = f.read()
    man = json.loads(raw["inputs.json"])
    n, s = man["samples"], man["config"]["input_size"]

    def arr(name, shape):
        v = np.frombuffer(raw[name], dtype="<f4")
        if v.size != np.prod(shape):
            sys.exit(f"{name}: {v.size} values; expected {shape}")
        return torch.from_numpy(v.reshape(shape).astype(np.float64))

    x, y, w = arr("x.f32", (n, 3, s, s)), arr("y.f32", (n, 1, s, s)), arr("w.f32", (n, 1, s, s))
    os.makedirs(a.out, exist_ok=True)
    ref = {"torch": torch.__version__, "dtype": "float64",
           "inputs": {k: hashlib.sha256(raw[k]).hexdigest() for k in FILES}, "losses": {}}
    bad = []
    for v in man["variants"]:
        init = read_safetensors(os.path.join(a.inputs, v["init"]))
        losses, weights = train(man, v, x, y, w, init, a.keep_grad)
        # The same run in float32: if it strays from float64, the run is on a
        # knife edge (a near-dead unit that Adam's normalisation amplifies
        # float noise on) and no float32 trainer could be held to it.
        l32, w32 = train(man, v, x, y, w, init, a.keep_grad, torch.float32)
        dl = max(abs(p - q) / abs(q) for p, q in zip(l32, losses))
        dw = max(float(np.abs(w32[k] - weights[k]).max() / max(np.abs(weights[k]).max(), 1e-12)) for k in weights)
        print(f"{v['name']:9s} loss {losses[0]:.5f} -> {losses[-1]:.5f}; float32 vs float64: loss {dl:.1e}, weights {dw:.1e}")
        if not a.keep_grad and (dl > LOSS_TOL / 10 or dw > WEIGHT_TOL / 10):
            bad.append(v["name"])
        ref["losses"][v["name"]] = [round(l, 9) for l in losses]
        write_safetensors(os.path.join(a.out, v["name"] + ".safetensors"), weights,
                          {"format": "pt", "producer": "bench/torch_conformance.py"})
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, sort_keys=True)
        f.write("\n")
    if bad:
        sys.exit(f"the float32 run of {', '.join(bad)} strays from float64 by more than a tenth of the "
                 "test's tolerances: the reference is ill-conditioned; change the seed or learning rate")


if __name__ == "__main__":
    main()
