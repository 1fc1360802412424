#!/usr/bin/python3
"""Writes the reference decodings that dataset/jpeg's tests compare with.

Run it with the system Python that has PIL on libjpeg-turbo (PIL 9.4.0 on
libjpeg-turbo 2.1.5 here), from the repository root:

    /usr/bin/python3 dataset/jpeg/testdata/make_refs.py

It draws small test images (deterministic: numpy's seeded legacy generator),
encodes each with PIL at several settings (quality, chroma subsampling,
progressive, grayscale, optimized Huffman tables), adds restart intervals to
some by re-coding their scans losslessly (PIL 9.4 cannot write restart
markers; the check below proves the re-coding lossless), and writes

    gen/<name>.jpg        the JPEG (gen/cmyk_q90.jpg has no reference: the
                          decoder hands CMYK to image/jpeg)
    ref/<name>.png        PIL's decoding: Image.open(f).convert("RGB"), or
                          "L" for grayscale JPEGs, stored losslessly
    refs.json             [{"name", "jpeg", "ref", "mode", "width", "height"}]

refs.json also lists the repository's bundled JPEGs (testdata/fixtures/**),
with "jpeg" a path relative to the repository root and their references
under ref/fixtures/.
"""

import glob
import io
import json
import os
import sys

import numpy as np
from PIL import Image, features

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def draw(w, h, seed):
    """Gradients, noise, hard edges and saturated patches."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 128 + 100 * np.sin((x + 2 * y) / 3.0)
    img = np.stack([r, g, b], axis=-1)
    img += rng.normal(0, 18, size=img.shape)
    # Hard edges: a saturated rectangle and a diagonal split.
    img[h // 4 : h // 2, w // 5 : w // 2] = [250, 10, 20]
    img[(x + y) > (w + h) * 0.7] = [5, 240, 250]
    img[: h // 6, w - w // 4 :] = [255, 255, 255]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def huff_tables(data):
    """Parses DHT segments: {(class, id): {(length, code): value}}."""
    tables = {}
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        length = data[pos + 2] << 8 | data[pos + 3]
        seg = data[pos + 4 : pos + 2 + length]
        if marker == 0xC4:
            p = 0
            while p < len(seg):
                tc, th = seg[p] >> 4, seg[p] & 15
                counts = seg[p + 1 : p + 17]
                vals = seg[p + 17 : p + 17 + sum(counts)]
                codes, code, k = {}, 0, 0
                for l in range(1, 17):
                    for _ in range(counts[l - 1]):
                        codes[(l, code)] = vals[k]
                        code += 1
                        k += 1
                    code <<= 1
                tables[(tc, th)] = codes
                p += 17 + sum(counts)
        if marker == 0xDA:
            break
        pos += 2 + length
    return tables


def add_restarts(data, interval):
    """Re-codes a baseline single-scan JPEG with a restart interval."""
    tables = huff_tables(data)
    enc = {k: {v: lc for lc, v in t.items()} for k, t in tables.items()}
    # Frame and scan headers.
    pos, comps, sos = 2, None, None
    while True:
        marker = data[pos + 1]
        length = data[pos + 2] << 8 | data[pos + 3]
        seg = data[pos + 4 : pos + 2 + length]
        if marker == 0xC0:
            w, h = seg[3] << 8 | seg[4], seg[1] << 8 | seg[2]
            comps = [(seg[6 + 3 * i], seg[7 + 3 * i] >> 4, seg[7 + 3 * i] & 15) for i in range(seg[5])]
        if marker == 0xDA:
            sos = (pos, length)
            sel = {seg[1 + 2 * i]: (seg[2 + 2 * i] >> 4, seg[2 + 2 * i] & 15) for i in range(seg[0])}
            break
        pos += 2 + length
    start = sos[0] + 2 + sos[1]
    end = data.rindex(b"\xff\xd9")
    raw = data[start:end].replace(b"\xff\x00", b"\xff")
    bits = "".join(format(c, "08b") for c in raw)
    hmax, vmax = max(c[1] for c in comps), max(c[2] for c in comps)
    if len(comps) == 1:
        hmax = vmax = 1
        comps = [(comps[0][0], 1, 1)]
    mcus = -(-w // (8 * hmax)) * -(-h // (8 * vmax))
    i = 0

    def decode(t):
        nonlocal i
        code = 0
        for l in range(1, 17):
            code = code << 1 | int(bits[i])
            i += 1
            if (l, code) in tables[t]:
                return tables[t][(l, code)]
        raise ValueError("bad code")

    def receive(s):
        nonlocal i
        v = int(bits[i : i + s], 2) if s else 0
        i += s
        return v if s == 0 or v >= 1 << (s - 1) else v - (1 << s) + 1

    blocks = []  # per MCU: [(component id, zig-zag coefficients)]
    pred = {}
    for _ in range(mcus):
        mcu = []
        for cid, ch, cv in comps:
            for _ in range(ch * cv):
                zz = [0] * 64
                pred[cid] = pred.get(cid, 0) + receive(decode((0, sel[cid][0])))
                zz[0] = pred[cid]
                k = 1
                while k < 64:
                    rs = decode((1, sel[cid][1]))
                    r, s = rs >> 4, rs & 15
                    if s == 0:
                        if r != 15:
                            break
                        k += 16
                        continue
                    k += r
                    zz[k] = receive(s)
                    k += 1
                mcu.append((cid, zz))
        blocks.append(mcu)

    out = []
    acc = []

    def put(length, code):
        acc.append(format(code, "0%db" % length) if length else "")

    def put_value(v):
        s = abs(v).bit_length()
        return s, (v if v >= 0 else v + (1 << s) - 1)

    def flush():
        b = "".join(acc)
        b += "1" * (-len(b) % 8)
        acc.clear()
        for j in range(0, len(b), 8):
            c = int(b[j : j + 8], 2)
            out.append(c)
            if c == 0xFF:
                out.append(0)

    pred = {}
    for m, mcu in enumerate(blocks):
        if m and m % interval == 0:
            flush()
            out.extend([0xFF, 0xD0 + (m // interval - 1) % 8])
            pred = {}
        for cid, zz in mcu:
            diff = zz[0] - pred.get(cid, 0)
            pred[cid] = zz[0]
            s, v = put_value(diff)
            put(*enc[(0, sel[cid][0])][s])
            put(s, v)
            run = 0
            for k in range(1, 64):
                if zz[k] == 0:
                    run += 1
                    continue
                while run > 15:
                    put(*enc[(1, sel[cid][1])][0xF0])
                    run -= 16
                s, v = put_value(zz[k])
                put(*enc[(1, sel[cid][1])][run << 4 | s])
                put(s, v)
                run = 0
            if run:
                put(*enc[(1, sel[cid][1])][0x00])
    flush()
    dri = bytes([0xFF, 0xDD, 0, 4, interval >> 8, interval & 255])
    return data[: sos[0]] + dri + data[sos[0] : start] + bytes(out) + b"\xff\xd9"


def reference(data, mode):
    im = Image.open(io.BytesIO(data))
    im.load()
    return im.convert(mode)


def main():
    print("PIL", Image.__version__, "libjpeg-turbo", features.version("libjpeg_turbo"), file=sys.stderr)
    os.makedirs(os.path.join(HERE, "gen"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "ref", "fixtures"), exist_ok=True)
    cases = []  # (name, jpeg bytes)

    def save(name, img, **opts):
        b = io.BytesIO()
        img.save(b, "JPEG", **opts)
        cases.append((name, b.getvalue()))
        return b.getvalue()

    big = draw(37, 29, 1)
    for q in (75, 95):
        for sub, sname in ((0, "444"), (1, "422"), (2, "420")):
            for prog in (False, True):
                save("c37x29_q%d_%s_%s" % (q, sname, "prog" if prog else "base"), big, quality=q, subsampling=sub, progressive=prog)
    wide = draw(61, 45, 2)
    for sub, sname in ((1, "422"), (2, "420")):
        save("c61x45_q90_%s_base" % sname, wide, quality=90, subsampling=sub)
        save("c61x45_q90_%s_prog" % sname, wide, quality=90, subsampling=sub, progressive=True)
    save("c61x45_q85_420_opt", wide, quality=85, subsampling=2, optimize=True)
    save("c37x29_q100_444_base", big, quality=100, subsampling=0)
    save("c37x29_q100_420_prog", big, quality=100, subsampling=2, progressive=True)
    # Small sizes: chroma 1 to 3 samples wide (box and fancy upsampling).
    for w, h in ((1, 1), (3, 2), (4, 3), (5, 7), (6, 5), (9, 17), (17, 9)):
        small = draw(w, h, 3 + w * h)
        save("c%dx%d_q90_420_base" % (w, h), small, quality=90, subsampling=2)
        save("c%dx%d_q90_422_prog" % (w, h), small, quality=90, subsampling=1, progressive=True)
    gray = big.convert("L")
    for q in (75, 95):
        save("g37x29_q%d_base" % q, gray, quality=q)
        save("g37x29_q%d_prog" % q, gray, quality=q, progressive=True)
    save("g3x2_q90_base", draw(3, 2, 9).convert("L"), quality=90)
    # Restart intervals, re-coded from baseline files.
    for name, img, opts, interval in (
        ("c37x29_q75_420_rst1", big, dict(quality=75, subsampling=2), 1),
        ("c61x45_q90_444_rst3", wide, dict(quality=90, subsampling=0), 3),
        ("c61x45_q90_422_rst2", wide, dict(quality=90, subsampling=1), 2),
        ("g37x29_q75_rst4", gray, dict(quality=75), 4),
    ):
        b = io.BytesIO()
        img.save(b, "JPEG", **opts)
        plain = b.getvalue()
        rst = add_restarts(plain, interval)
        mode = "L" if img.mode == "L" else "RGB"
        if reference(plain, mode).tobytes() != reference(rst, mode).tobytes():
            raise SystemExit("restart re-coding of %s is not lossless" % name)
        if rst.count(b"\xff\xd0") == 0:
            raise SystemExit("no restart marker in " + name)
        cases.append((name, rst))

    # A CMYK JPEG (Adobe APP14): decoded by image/jpeg, no reference.
    b = io.BytesIO()
    big.convert("CMYK").save(b, "JPEG", quality=90)
    with open(os.path.join(HERE, "gen", "cmyk_q90.jpg"), "wb") as f:
        f.write(b.getvalue())

    refs = []
    for name, data in cases:
        with open(os.path.join(HERE, "gen", name + ".jpg"), "wb") as f:
            f.write(data)
        mode = Image.open(io.BytesIO(data)).mode
        mode = "L" if mode == "L" else "RGB"
        ref = reference(data, mode)
        ref.save(os.path.join(HERE, "ref", name + ".png"), optimize=True)
        refs.append(dict(name=name, jpeg="gen/%s.jpg" % name, ref="ref/%s.png" % name, mode=mode, width=ref.width, height=ref.height))

    for path in sorted(glob.glob(os.path.join(ROOT, "testdata", "fixtures", "**", "*.jpg"), recursive=True)):
        rel = os.path.relpath(path, ROOT)
        with open(path, "rb") as f:
            data = f.read()
        try:
            im = Image.open(io.BytesIO(data))
            mode = "L" if im.mode == "L" else "RGB"
            ref = reference(data, mode)
        except Exception as e:  # broken fixtures (truncated, not a JPEG)
            print("skipped", rel, ":", e, file=sys.stderr)
            continue
        name = "fixtures/" + rel.replace("/", "_")
        ref.save(os.path.join(HERE, "ref", name + ".png"), optimize=True)
        refs.append(dict(name=name, jpeg=rel, ref="ref/%s.png" % name, mode=mode, width=ref.width, height=ref.height))

    with open(os.path.join(HERE, "refs.json"), "w") as f:
        json.dump(refs, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
