#!/usr/bin/python3
"""Times PIL's JPEG decoding on the files of dataset/jpeg's BenchmarkDecode.

    JPEG_PHOTO=/tmp/photo640x480.jpg go test ./dataset/jpeg -run TestWritePhoto
    /usr/bin/python3 bench/jpegpil.py /tmp/photo640x480.jpg

Decodes, from bytes in memory, the 640x480 photo the Go benchmark encodes
and, as one operation, every JPEG of dataset/jpeg/testdata/refs.json, the
way the Go benchmark does: Image.open(...).convert("RGB") (or "L"). Prints
min, median and max milliseconds per operation over ROUNDS rounds.
"""

import io
import json
import os
import statistics
import sys
import time

from PIL import Image, features

ROUNDS = int(os.environ.get("ROUNDS", "7"))
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def decode(data):
    im = Image.open(io.BytesIO(data))
    im.convert("L" if im.mode == "L" else "RGB")


def timed(files, min_seconds=1.0):
    """Milliseconds per operation (all files once) for each round."""
    out = []
    for _ in range(ROUNDS):
        n, start = 0, time.perf_counter()
        while True:
            for f in files:
                decode(f)
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        out.append(1000 * elapsed / n)
    return out


def main():
    refdir = os.path.join(ROOT, "dataset", "jpeg", "testdata")
    with open(os.path.join(refdir, "refs.json")) as f:
        refs = json.load(f)
    files = []
    for r in refs:
        base = ROOT if r["jpeg"].startswith("testdata/") else refdir
        with open(os.path.join(base, r["jpeg"]), "rb") as f:
            files.append(f.read())
    sets = [("refs", files)]
    if len(sys.argv) > 1:
        with open(sys.argv[1], "rb") as f:
            sets.insert(0, ("photo640x480", [f.read()]))
    print("PIL %s on libjpeg-turbo %s, %d rounds" % (Image.__version__, features.version("libjpeg_turbo"), ROUNDS))
    for name, fs in sets:
        t = timed(fs)
        print("%-14s min %.3f  median %.3f  max %.3f ms/op" % (name, min(t), statistics.median(t), max(t)))


if __name__ == "__main__":
    main()
