"""Trains a small UNet (PyTorch, CPU) for a person mask, as a dsbuild train
step's command.

Reads, in the step's scratch directory:
  inputs/data/        the training set, exported in dsbuild's "masks" format
                      (classes.json; <dataset>/<stem>.png, one 8-bit label per
                      pixel; <dataset>/images/<stem>.<ext>)
  inputs/validation/  the validation set, same format (optional)
  inputs/from/        the previous round's model (optional): training
                      continues from its weights
Writes model/ (config.json, weights.safetensors, metrics.json: the model
artifact contract of docs/model.md) and prints
"dsbuild:progress epoch=E/N loss=L val_iou=V" after every epoch.

The loss is BCE + (1 - dice) over the pixels that are not ignored (the
classes of --ignore, "neutral"); Adam; a left-right flip with probability
1/2 per sample. Everything random is seeded (--seed), torch runs on one
thread with deterministic algorithms, so the same inputs give the same
weights, byte for byte (unet.pin_numerics says what else is pinned).
"""

import unet

PINNED = unet.pin_numerics()  # before torch loads

import argparse
import json
import os
import random
import sys

import numpy as np
import torch
from PIL import Image

F = torch.nn.functional


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--size", type=int, default=64, help="square input side")
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--width", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--classes", default="person", help="comma-separated foreground classes")
    p.add_argument("--ignore", default="neutral", help="comma-separated classes the loss and metrics skip")
    p.add_argument("--data", default="inputs/data")
    p.add_argument("--validation", default="inputs/validation")
    p.add_argument("--from", dest="start", default="inputs/from")
    p.add_argument("--out", default="model")
    return p.parse_args()


def read_masks_dataset(root, size, foreground, ignore):
    """The masks export as (image, label) tensors: label 1 foreground, 0
    background, -1 ignored; items in name order."""
    with open(os.path.join(root, "classes.json")) as f:
        doc = json.load(f)
    if doc.get("mode") != "index":
        sys.exit(f"{root}/classes.json: mode {doc.get('mode')!r}; this trainer reads index masks")
    lut = np.zeros(256, dtype=np.int8)  # unlisted values cannot occur (dsbuild checks)
    for c in doc["classes"]:
        if c["name"] in foreground:
            lut[c["index"]] = 1
        elif c["name"] in ignore:
            lut[c["index"]] = -1
    images, labels, names = [], [], []
    for ds in sorted(os.listdir(root)):
        d = os.path.join(root, ds)
        if ds.startswith(".") or not os.path.isdir(d):
            continue
        files = sorted(os.listdir(os.path.join(d, "images"))) if os.path.isdir(os.path.join(d, "images")) else []
        by_stem = {os.path.splitext(f)[0]: f for f in files}
        for m in sorted(os.listdir(d)):
            if not m.endswith(".png") or not os.path.isfile(os.path.join(d, m)):
                continue
            stem = m[: -len(".png")]
            if stem not in by_stem:
                sys.exit(f"{d}/{m}: no image {d}/images/{stem}.*")
            img = Image.open(os.path.join(d, "images", by_stem[stem])).convert("RGB")
            mask = Image.open(os.path.join(d, m))
            if mask.mode not in ("L", "P"):
                sys.exit(f"{d}/{m}: mode {mask.mode}, not an index mask")
            img, _ = unet.letterbox(img, size, Image.BILINEAR)
            mask, box = unet.letterbox(mask, size, Image.NEAREST)
            lab = lut[np.asarray(mask, dtype=np.uint8)].astype(np.float32)
            if box != (0, 0, size, size):  # the padding is no pixel of the image
                pad = np.ones((size, size), dtype=bool)
                pad[box[1] : box[1] + box[3], box[0] : box[0] + box[2]] = False
                lab[pad] = -1
            images.append(unet.to_tensor(torch, img))
            labels.append(torch.from_numpy(lab))
            names.append(f"{ds}/{by_stem[stem]}")
    if not images:
        sys.exit(f"{root}: no masks")
    return torch.stack(images), torch.stack(labels), names


def loss_terms(logits, labels):
    """BCE over the non-ignored pixels of the batch, and 1 - the mean of each
    sample's soft dice (smoothed by 1)."""
    w = (labels >= 0).to(logits.dtype)
    y = labels.clamp(min=0)
    bce = (F.binary_cross_entropy_with_logits(logits, y, reduction="none") * w).sum() / w.sum().clamp(min=1)
    p = torch.sigmoid(logits) * w
    inter = (p * y).sum(dim=(1, 2))
    dice = (2 * inter + 1) / (p.sum(dim=(1, 2)) + (y * w).sum(dim=(1, 2)) + 1)
    return bce, 1 - dice.mean()


def evaluate(model, images, labels, batch):
    """IoU, dice and pixel accuracy over all non-ignored pixels together."""
    model.eval()
    tp = fp = fn = tn = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            pred = model(images[i : i + batch]) > 0
            lab = labels[i : i + batch]
            valid = lab >= 0
            truth = lab > 0
            tp += int((pred & truth & valid).sum())
            fp += int((pred & ~truth & valid).sum())
            fn += int((~pred & truth & valid).sum())
            tn += int((~pred & ~truth & valid).sum())
    model.train()
    union = tp + fp + fn
    return {
        "val_iou": tp / union if union else 1.0,
        "val_dice": 2 * tp / (2 * tp + fp + fn) if union else 1.0,
        "val_pixel_accuracy": (tp + tn) / max(1, tp + fp + fn + tn),
    }


def main():
    a = parse_args()
    random.seed(a.seed)
    np.random.seed(a.seed)
    unet.configure_torch(torch, a.seed)
    foreground = a.classes.split(",")
    ignore = [c for c in a.ignore.split(",") if c]

    start = None
    if os.path.isdir(a.start):
        with open(os.path.join(a.start, "config.json")) as f:
            start = json.load(f)
        if start.get("format") != unet.FORMAT:
            sys.exit(f"{a.start}: format {start.get('format')!r}, not {unet.FORMAT}")
        for k in ("depth", "width", "input_size"):
            if start[k] != getattr(a, {"input_size": "size"}.get(k, k)):
                sys.exit(f"{a.start}: {k} is {start[k]}, this training's is {getattr(a, {'input_size': 'size'}.get(k, k))}")

    images, labels, _ = read_masks_dataset(a.data, a.size, foreground, ignore)
    val = None
    if os.path.isdir(a.validation):
        val = read_masks_dataset(a.validation, a.size, foreground, ignore)

    model = unet.build(torch, a.depth, a.width)
    if start is not None:
        model.load_state_dict(unet.load_safetensors(torch, os.path.join(a.start, start["weights"])), strict=True)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    gen = torch.Generator().manual_seed(a.seed)

    n = len(images)
    steps_per_epoch = (n + a.batch - 1) // a.batch
    epochs, best, best_state = [], None, None
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(n, generator=gen)
        sums = [0.0, 0.0, 0.0]
        for s in range(steps_per_epoch):
            idx = order[s * a.batch : (s + 1) * a.batch]
            x, y = images[idx], labels[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            y = torch.where(flip[:, None, None], y.flip(-1), y)
            bce, dice_loss = loss_terms(model(x), y)
            loss = bce + dice_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sums[0] += float(loss)
            sums[1] += float(bce)
            sums[2] += float(dice_loss)
        row = {
            "epoch": epoch,
            "steps": epoch * steps_per_epoch,
            "train_loss": sums[0] / steps_per_epoch,
            "train_bce": sums[1] / steps_per_epoch,
            "train_dice_loss": sums[2] / steps_per_epoch,
        }
        if val is not None:
            row.update(evaluate(model, val[0], val[1], a.batch))
        row = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
        epochs.append(row)
        # The kept epoch: the best validation IoU, then the lower training
        # loss, then the earlier epoch; without validation the lowest loss.
        rank = (-row.get("val_iou", 0.0), row["train_loss"])
        if best is None or rank < best[0]:
            best = (rank, epoch)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        line = f"dsbuild:progress epoch={epoch}/{a.epochs} loss={row['train_loss']:.4f}"
        if "val_iou" in row:
            line += f" val_iou={row['val_iou']:.4f}"
        print(line, flush=True)

    os.makedirs(a.out, exist_ok=True)
    unet.save_safetensors(os.path.join(a.out, unet.WEIGHTS), best_state,
                          {"format": "pt", "producer": "recipes/person-torch/torch/train.py", "arch": "unet"})
    config = {
        "format": unet.FORMAT,
        "arch": "unet",
        "depth": a.depth,
        "width": a.width,
        "batch_norm": True,
        "upsample": "nearest",
        "input_size": a.size,
        "in_channels": 3,
        "input": "RGB bytes / 255, letterboxed to input_size (aspect kept, centred, zero padding)",
        "classes": foreground,
        "ignore": ignore,
        "output": "one logit per pixel; logit > 0 is foreground",
        "weights": unet.WEIGHTS,
        "training": {
            "images": n,
            "validation_images": 0 if val is None else len(val[0]),
            "epochs": a.epochs,
            "batch": a.batch,
            "learning_rate": a.lr,
            "optimizer": "adam",
            "loss": "bce + (1 - dice), ignored pixels excluded",
            "flip": 0.5,
            "seed": a.seed,
            "from": start is not None,
            "torch": torch.__version__,
            "numerics": {**PINNED, "mkldnn": False, "deterministic_algorithms": True},
        },
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    metrics = {"epochs": epochs, "best_epoch": best[1], "validation": val is not None}
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
