"""Pre-annotates images with a torch-unet/1 model (train.py's), as a dsbuild
preannotate step's command.

Reads, in the step's scratch directory:
  inputs/model/        the model artifact (config.json, weights.safetensors)
  inputs/images.json   {"images": [{"id", "file_name", "width", "height"}],
                        "categories": [{"id", "name"}]}
  inputs/images/<file_name>
Writes predictions/results.json, a COCO results list: one entry per
connected component (8-connected) of the thresholded mask with at least
--min-area pixels, {"image_id", "category_id", "segmentation": a compressed
RLE {"size": [h, w], "counts": "..."}, "score": the component's mean
probability}.

Each image is letterboxed to the model's input size as in training, the
logits of the picture's box are resampled (bilinear) to the image's size,
then thresholded.
"""

import unet

unet.pin_numerics()  # before torch loads

import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

F = torch.nn.functional


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--min-area", type=int, default=20, help="smallest component kept, in pixels of the image")
    p.add_argument("--model", default="inputs/model")
    p.add_argument("--images", default="inputs/images")
    p.add_argument("--list", default="inputs/images.json")
    p.add_argument("--out", default="predictions/results.json")
    return p.parse_args()


def components(mask):
    """The 8-connected components of a boolean (h, w) array, as a label
    array (0: none, 1, 2, ...: components numbered in row-major order of
    their first pixel) and the count. A flood fill with an explicit stack."""
    h, w = mask.shape
    labels = np.zeros((h, w), dtype=np.int32)
    todo = mask.copy()
    n = 0
    ys, xs = np.nonzero(mask)
    for y0, x0 in zip(ys.tolist(), xs.tolist()):
        if not todo[y0, x0]:
            continue
        n += 1
        todo[y0, x0] = False
        stack = [(y0, x0)]
        while stack:
            y, x = stack.pop()
            labels[y, x] = n
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < h and 0 <= xx < w and todo[yy, xx]:
                        todo[yy, xx] = False
                        stack.append((yy, xx))
    return labels, n


def rle_counts(mask):
    """COCO's run lengths of a boolean (h, w) mask: pixels in column-major
    order (down each column, then the next column), runs alternating
    background, foreground, ..., the first a background run (0 when the
    first pixel is set)."""
    flat = np.asarray(mask, dtype=np.uint8).flatten(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return counts


def rle_string(counts):
    """COCO's compressed form of run lengths: each count from the third on is
    taken as the difference to the count two before it; every value is
    written as 5-bit groups, least significant first, each group a
    character 48 + group, with 32 added while more groups follow (the last
    group's bit 4 carries the sign)."""
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            g = x & 0x1F
            x >>= 5  # arithmetic: a negative value tends to -1
            more = x != -1 if g & 0x10 else x != 0
            out.append(chr(48 + (g | 0x20 if more else g)))
            if not more:
                break
    return "".join(out)


def main():
    a = parse_args()
    unet.configure_torch(torch)
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("format") != unet.FORMAT:
        sys.exit(f"{a.model}: format {cfg.get('format')!r}; this script reads {unet.FORMAT}")
    model = unet.build(torch, cfg["depth"], cfg["width"], cfg.get("batch_norm", True))
    model.load_state_dict(unet.load_safetensors(torch, os.path.join(a.model, cfg["weights"])), strict=True)
    model.eval()
    size = cfg["input_size"]

    with open(a.list) as f:
        listing = json.load(f)
    cats = {c["name"]: c["id"] for c in listing["categories"]}
    missing = [c for c in cfg["classes"] if c not in cats]
    if missing:
        sys.exit(f"{a.list}: no category {missing[0]!r} (the model segments {cfg['classes']})")
    category = cats[cfg["classes"][0]]

    results = []
    images = listing["images"]
    for k, im in enumerate(images):
        img = Image.open(os.path.join(a.images, im["file_name"])).convert("RGB")
        w, h = img.size
        if (w, h) != (im["width"], im["height"]):
            sys.exit(f"{im['file_name']}: {w}x{h}, images.json says {im['width']}x{im['height']}")
        boxed, (left, top, bw, bh) = unet.letterbox(img, size, Image.BILINEAR)
        with torch.no_grad():
            logits = model(unet.to_tensor(torch, boxed)[None])[:, None, top : top + bh, left : left + bw]
            if (bw, bh) != (w, h):
                logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
            prob = torch.sigmoid(logits)[0, 0].numpy()
        labels, n = components(prob > a.threshold)
        for c in range(1, n + 1):
            comp = labels == c
            area = int(comp.sum())
            if area < a.min_area:
                continue
            results.append({
                "image_id": im["id"],
                "category_id": category,
                "segmentation": {"size": [h, w], "counts": rle_string(rle_counts(comp))},
                "score": round(float(prob[comp].mean(dtype=np.float64)), 6),
            })
        print(f"dsbuild:progress step={k + 1}/{len(images)} objects={len(results)}", flush=True)

    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(results, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
