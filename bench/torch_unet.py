#!/usr/bin/env python3
"""PyTorch twin of dsbuild's UNet (model/config.go), for cross-checks and benchmarks.

The state_dict keys equal Config.Tensors() exactly: "enc.0.conv1.weight",
"enc.0.conv1.bias" or "enc.0.conv1.bn.{weight,bias,running_mean,running_var}",
"mid.conv1...", "dec.0.conv1...", "head.weight", "head.bias".

  torch_unet.py check MODEL_DIR INPUT.f32 LOGITS.f32
      Loads MODEL_DIR/config.json (key "config") and MODEL_DIR/weights.safetensors
      with strict name and shape checks, runs the eval-mode forward (in float64, as
      the reference) on the raw little-endian float32 input (N x 3 x S x S) and
      compares with the expected logits (N x S x S float32). Exit 1 when the max
      abs diff > 1e-3 or the sign (mask) agreement < 0.999.
  torch_unet.py bench [--size 256] [--batch 8] [--steps 10] [--depth 4] [--width 16] [--batch-norm]
      Trains on synthetic ellipses with the UNet_v2 loss and Adam; prints one JSON line.

Needs python3, torch and numpy only.
"""
import argparse
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# --- safetensors (F32 only): u64 LE header length, JSON header, raw data ---

def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = memoryview(blob)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}; only F32 is supported")
        lo, hi = info["data_offsets"]
        shape = tuple(info["shape"])
        if hi - lo != 4 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: tensor {name} has {hi - lo} bytes for shape {list(shape)}")
        out[name] = np.frombuffer(data[lo:hi], dtype="<f4").reshape(shape).copy()
    return out


def write_safetensors(path, tensors, metadata=None):
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        chunks.append(a.tobytes())
        off += a.nbytes
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # pad so the data starts 8-byte aligned, as the format suggests
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


# --- the network ---

class BN(nn.Module):
    """BatchNorm2d without the num_batches_tracked buffer (momentum 0.1, as PyTorch)."""

    def __init__(self, ch, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(ch))
        self.bias = nn.Parameter(torch.zeros(ch))
        self.register_buffer("running_mean", torch.zeros(ch))
        self.register_buffer("running_var", torch.ones(ch))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, 0.1, self.eps)


class Conv(nn.Module):
    """Convolution (padding k//2) with a bias, or with a BN submodule instead; then ReLU."""

    def __init__(self, cin, cout, k, bn, relu, eps):
        super().__init__()
        self.pad, self.relu = k // 2, relu
        bound = (6.0 / (cin * k * k)) ** 0.5  # He uniform, as model.Init
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k).uniform_(-bound, bound))
        if bn:
            self.bn = BN(cout, eps)
        else:
            self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        x = F.conv2d(x, self.weight, getattr(self, "bias", None), padding=self.pad)
        if hasattr(self, "bn"):
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class Level(nn.Module):
    def __init__(self, cin, cout, bn, eps):
        super().__init__()
        self.conv1 = Conv(cin, cout, 3, bn, True, eps)
        self.conv2 = Conv(cout, cout, 3, bn, True, eps)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, w, bn = cfg["depth"], cfg["width"], bool(cfg.get("batch_norm", False))
        eps = cfg.get("bn_epsilon") or 1e-5
        ch = lambda l: w << l
        self.depth = d
        self.enc = nn.ModuleList(Level(cfg.get("in_channels", 3) if l == 0 else ch(l - 1), ch(l), bn, eps)
                                 for l in range(d))
        self.mid = Level(ch(d - 1), ch(d), bn, eps)
        # dec["l"] works at level l; registered deepest first, the forward order, so the
        # state_dict lists its keys in Config.Tensors() order.
        self.dec = nn.ModuleDict((str(l), Level(ch(l + 1) + ch(l), ch(l), bn, eps))
                                 for l in reversed(range(d)))
        self.head = Conv(ch(0), 1, 1, False, False, eps)

    def forward(self, x):
        skips = []
        for lvl in self.enc:
            x = lvl(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.mid(x)
        for l in reversed(range(self.depth)):
            x = torch.cat([F.interpolate(x, scale_factor=2, mode="nearest"), skips[l]], dim=1)
            x = self.dec[str(l)](x)
        return self.head(x)


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        doc = json.load(f)
    cfg = doc["config"] if "config" in doc else doc
    if cfg.get("arch") != "unet" or cfg.get("in_channels", 3) != 3:
        raise ValueError(f"unsupported config: {cfg}")
    if cfg["input_size"] % (1 << cfg["depth"]):
        raise ValueError(f"input_size {cfg['input_size']} is not a multiple of 2^{cfg['depth']}")
    model = UNet(cfg)
    got = read_safetensors(os.path.join(model_dir, "weights.safetensors"))
    want = model.state_dict()
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing or extra:
        raise ValueError(f"weights do not match the architecture: missing {missing}, unexpected {extra}")
    for k, v in want.items():
        if tuple(v.shape) != got[k].shape:
            raise ValueError(f"tensor {k} has shape {list(got[k].shape)}; the architecture needs {list(v.shape)}")
    model.load_state_dict({k: torch.from_numpy(a) for k, a in got.items()}, strict=True)
    return cfg, model.eval()


def cmd_check(a):
    try:
        cfg, model = load_model(a.model_dir)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"{a.model_dir}: {e!r}")
    s = cfg["input_size"]
    x = np.fromfile(a.input, dtype="<f4")
    if x.size == 0 or x.size % (3 * s * s):
        sys.exit(f"{a.input}: {x.size} values is not a multiple of 3x{s}x{s}")
    n = x.size // (3 * s * s)
    want = np.fromfile(a.logits, dtype="<f4").astype(np.float64)
    if want.size != n * s * s:
        sys.exit(f"{a.logits}: {want.size} values; expected {n}x{s}x{s}")
    with torch.no_grad():
        got = model.double()(torch.from_numpy(x.reshape(n, 3, s, s)).double()).numpy().ravel()
    diff = np.abs(got - want)
    agree = float(np.mean((got > 0) == (want > 0)))
    print(f"images {n}, size {s}, logits |max| {np.abs(got).max():.4g}")
    print(f"max abs diff {diff.max():.3e} (mean {diff.mean():.3e}); mask agreement {agree:.6f}")
    if not diff.max() <= 1e-3 or agree < 0.999:  # `not <=` also catches NaN
        print("FAIL: dsbuild's logits differ from PyTorch's (limits: 1e-3, 0.999)")
        sys.exit(1)
    print("OK")


# --- training benchmark ---

def synthetic(n, size, seed=0):
    """n RGB images (n,3,S,S in [0,1]) with 1-3 filled foreground ellipses, their masks, and
    weight masks that are 0 on an optional 'neutral' ellipse (the ignored pixels)."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = np.empty((n, 3, size, size), np.float32)
    y = np.zeros((n, 1, size, size), np.float32)
    m = np.ones((n, 1, size, size), np.float32)

    def ellipse():
        cy, cx = rng.uniform(0, size, 2)
        ry, rx = rng.uniform(size / 16, size / 4, 2)
        return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1

    for i in range(n):
        img[i] = rng.uniform(0, 255, (3, 1, 1)) + rng.normal(0, 12, (3, size, size))
        for _ in range(rng.randint(1, 4)):
            e = ellipse()
            img[i][:, e] = rng.uniform(0, 255, (3, 1))
            y[i, 0][e] = 1
        if rng.rand() < 0.5:
            e = ellipse()
            img[i][:, e] = rng.uniform(0, 255, (3, 1))
            y[i, 0][e], m[i, 0][e] = 0, 0
    img = np.clip(np.round(img), 0, 255) / 255
    return torch.from_numpy(img.astype(np.float32)), torch.from_numpy(y), torch.from_numpy(m)


def unet_v2_loss(z, y, m, w_bce=1.0, w_dice=1.0):
    bce = (m * (F.softplus(z) - y * z)).sum() / m.sum().clamp_min(1)  # clamp: only if all ignored
    p = torch.sigmoid(z)
    dims = (1, 2, 3)
    dice = (2 * (m * p * y).sum(dims) + 1) / ((m * p).sum(dims) + (m * y).sum(dims) + 1)
    return (w_bce * bce + w_dice * (1 - dice.mean())) / (w_bce + w_dice)


def cmd_bench(a):
    if a.steps <= 2:
        sys.exit("--steps must exceed the 2 warm-up steps")
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    cfg = {"arch": "unet", "depth": a.depth, "width": a.width, "batch_norm": a.batch_norm,
           "input_size": a.size, "in_channels": 3}
    model = UNet(cfg).train()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    x, y, m = synthetic(2 * a.batch, a.size)  # two batches, used in turn
    t0 = c0 = None
    cpu = lambda: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_SELF))
    for step in range(a.steps):
        if step == 2:
            t0, c0 = time.perf_counter(), cpu()
        b = slice((step % 2) * a.batch, (step % 2 + 1) * a.batch)
        opt.zero_grad(set_to_none=True)
        loss = unet_v2_loss(model(x[b]), y[b], m[b])
        loss.backward()
        opt.step()
    dt = (time.perf_counter() - t0) / (a.steps - 2)
    dc = (cpu() - c0) / (a.steps - 2)
    if not torch.isfinite(loss):
        sys.exit(f"loss is {loss.item()}")
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "size": a.size, "batch": a.batch,
                      "depth": a.depth, "width": a.width, "params": params, "s_per_step": round(dt, 4),
                      "cpu_s_per_step": round(dc, 4), "threads": torch.get_num_threads(),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("model_dir")
    c.add_argument("input")
    c.add_argument("logits")
    b = sub.add_parser("bench")
    b.add_argument("--size", type=int, default=256)
    b.add_argument("--batch", type=int, default=8)
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--depth", type=int, default=4)
    b.add_argument("--width", type=int, default=16)
    b.add_argument("--batch-norm", action="store_true")
    a = ap.parse_args()
    cmd_check(a) if a.cmd == "check" else cmd_bench(a)


if __name__ == "__main__":
    main()
