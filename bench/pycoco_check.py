#!/usr/bin/env python3
"""Load COCO exports with the real pycocotools, as a COCO user would.

For local use (not a CI dependency; the Go tests hold every export to a
re-implementation of these rules, dataset/internal/cocorules):

    python3 bench/pycoco_check.py EXPORT_DIR...

For every annotations/instances_*.json under each directory it builds
pycocotools.coco.COCO, rasterizes every annotation with annToMask (which
fails on "segmentation": []), checks that each mask has the image's size
and is not empty where the file's area is not 0, that the bbox of an RLE
annotation is the mask's (polygons are rasterized by pycocotools' own rule,
which differs from dsbuild's pixel-centre rule on boundary pixels: a
differing polygon area is printed as a note, not a failure), and evaluates the file against itself with COCOeval
for "segm" and "bbox", which must give AP 1.0 where there are non-crowd
annotations. It prints one line per file and exits 1 on any failure.
"""
import contextlib
import glob
import io
import os
import sys

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

# cocodataset/cocoapi's own cocoeval.py (pycocotools 2.0 from source) still
# uses np.float, which NumPy 1.24 removed; the PyPI releases do not.
if not hasattr(np, "float"):
    np.float = float


def check_file(path):
    problems, notes = [], []
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(path)
    anns = coco.loadAnns(coco.getAnnIds())
    for ann in anns:
        img = coco.imgs[ann["image_id"]]
        try:
            m = coco.annToMask(ann)
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            problems.append("annotation %s: annToMask: %r" % (ann["id"], e))
            continue
        if m.shape != (img["height"], img["width"]):
            problems.append("annotation %s: mask %s, image %sx%s" % (ann["id"], m.shape, img["width"], img["height"]))
        area = int(m.sum())
        if isinstance(ann["segmentation"], dict):
            bbox = [float(v) for v in mask_utils.toBbox(coco.annToRLE(ann))]
            if area != ann["area"] or bbox != [float(v) for v in ann["bbox"]]:
                problems.append("annotation %s: RLE area %s bbox %s, file says %s %s" % (ann["id"], area, bbox, ann["area"], ann["bbox"]))
        elif area != ann["area"]:
            notes.append("annotation %s: pycocotools rasterizes its polygons to %s pixels, dsbuild to %s" % (ann["id"], area, ann["area"]))
    aps = {}
    if any(not a["iscrowd"] for a in anns):
        for iou in ("segm", "bbox"):
            dets = [dict(a, score=1.0) for a in anns if not a["iscrowd"]]
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    res = coco.loadRes(dets)
                    ev = COCOeval(coco, res, iou)
                    ev.evaluate()
                    ev.accumulate()
                    ev.summarize()
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                problems.append("COCOeval %s: %r" % (iou, e))
                continue
            aps[iou] = ev.stats[0]
            if not np.isclose(ev.stats[0], 1.0):
                problems.append("COCOeval %s against itself: AP %.3f, want 1" % (iou, ev.stats[0]))
    return len(anns), aps, problems, notes


def main(dirs):
    failed = False
    files = []
    for d in dirs:
        files += sorted(glob.glob(os.path.join(d, "annotations", "instances_*.json")))
    if not files:
        print("no annotations/instances_*.json under", " ".join(dirs))
        return 1
    for f in files:
        n, aps, problems, notes = check_file(f)
        status = "ok" if not problems else "FAIL"
        failed = failed or bool(problems)
        print("%s %s: %d annotations, AP %s" % (status, f, n, " ".join("%s=%.3f" % kv for kv in sorted(aps.items()))))
        for p in problems:
            print("   ", p)
        for p in notes:
            print("    note:", p)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
