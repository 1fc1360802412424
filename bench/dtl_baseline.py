#!/usr/bin/env python3
"""What a DTL user would otherwise run: the issue 4 pipeline in Python and
OpenCV, over a Supervisely project (as dsbuild exports it).

For every object of class "person": crop its box padded by 10 % of the box
(clipped to the image), resize to 256x256 (bilinear for the image, nearest
for the mask), mirror left-right, and write the image and the mask as PNG.
The work is what dsbuild's import + transform need for the same output: read
every annotation (JSON, with the masks as zlib'd PNG), decode every image,
and encode two PNGs per person; the padding is rounded down as dsbuild's
instances_crop rounds it (10 % of a 57-pixel box is 5 pixels). The box is the
bitmap's (dsbuild exports tight bitmaps, so it is the mask's tight box).

Usage: dtl_baseline.py PROJECT OUTDIR
"""
import base64
import glob
import json
import os
import sys
import zlib

import cv2
import numpy as np


def person_masks(ann):
    for obj in ann["objects"]:
        if obj["classTitle"] != "person" or "bitmap" not in obj:
            continue
        png = zlib.decompress(base64.b64decode(obj["bitmap"]["data"]))
        m = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
        if m.ndim == 3:
            m = m[:, :, 3] if m.shape[2] == 4 else m[:, :, 0]
        yield obj["bitmap"]["origin"], (m > 0).astype(np.uint8) * 255


def main(project, out):
    os.makedirs(out, exist_ok=True)
    n = 0
    for ann_path in sorted(glob.glob(os.path.join(project, "*", "ann", "*.json"))):
        ds_dir = os.path.dirname(os.path.dirname(ann_path))
        name = os.path.basename(ann_path)[: -len(".json")]
        img = cv2.imread(os.path.join(ds_dir, "img", name), cv2.IMREAD_COLOR)
        with open(ann_path) as f:
            ann = json.load(f)
        h, w = img.shape[:2]
        for k, ((ox, oy), m) in enumerate(person_masks(ann)):
            mh, mw = m.shape
            px, py = mw * 10 // 100, mh * 10 // 100
            x0, y0 = max(0, ox - px), max(0, oy - py)
            x1, y1 = min(w, ox + mw + px), min(h, oy + mh + py)
            if x0 >= x1 or y0 >= y1:
                continue  # the object lies outside the image
            # The mask on the crop's canvas (the parts outside it cut off).
            sub = np.zeros((y1 - y0, x1 - x0), np.uint8)
            sx0, sy0 = max(ox, x0), max(oy, y0)
            sx1, sy1 = min(ox + mw, x1), min(oy + mh, y1)
            if sx0 < sx1 and sy0 < sy1:
                sub[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = m[sy0 - oy : sy1 - oy, sx0 - ox : sx1 - ox]
            crop = cv2.resize(img[y0:y1, x0:x1], (256, 256), interpolation=cv2.INTER_LINEAR)
            mask = cv2.resize(sub, (256, 256), interpolation=cv2.INTER_NEAREST)
            crop, mask = cv2.flip(crop, 1), cv2.flip(mask, 1)
            stem = os.path.splitext(name)[0]
            cv2.imwrite(os.path.join(out, f"{stem}__{k + 1}.png"), crop)
            cv2.imwrite(os.path.join(out, f"{stem}__{k + 1}.mask.png"), mask)
            n += 1
    print(f"{n} crops", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
