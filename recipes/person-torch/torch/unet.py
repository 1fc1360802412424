"""The network, the numerics settings and the file formats that train.py and
predict.py share (the model artifact "torch-unet/1").

Import this module before torch anywhere: pin_numerics() must run before
torch loads, since OpenBLAS and ATen read their settings when they load.
"""

import json
import os
import struct

FORMAT = "torch-unet/1"
WEIGHTS = "weights.safetensors"


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def pin_numerics():
    """Fixes what decides the float bits of a CPU run, before torch loads.

    One thread everywhere (a reduction split over threads sums in another
    order); ATen's vector kernels and OpenBLAS's kernel pinned to AVX2
    where the CPU has it (else left to the libraries), so that an AVX-512
    machine computes what an AVX2 one does. oneDNN, which picks its own
    kernels and blocking from the CPU, is switched off after import
    (configure_torch): convolutions then go through im2col and OpenBLAS.
    The values set here are returned, to be recorded in config.json.
    """
    pinned = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    flags = _cpu_flags()
    if {"avx2", "fma"} <= flags:
        pinned["ATEN_CPU_CAPABILITY"] = "avx2"
        pinned["OPENBLAS_CORETYPE"] = "Haswell"
    os.environ.update(pinned)
    return pinned


def configure_torch(torch, seed=None):
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    torch.use_deterministic_algorithms(True)
    if seed is not None:
        torch.manual_seed(seed)


def build(torch, depth, width, batch_norm=True):
    """The UNet: encoder levels of two 3x3 convs (+BatchNorm) + ReLU and 2x2
    max pooling, a middle block, decoder levels of nearest x2 upsampling,
    concatenation [upsampled, skip] and two convs, a 1x1 head giving one
    logit per pixel (logit > 0: foreground)."""
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=not batch_norm)
            self.bn1 = nn.BatchNorm2d(cout) if batch_norm else nn.Identity()
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=not batch_norm)
            self.bn2 = nn.BatchNorm2d(cout) if batch_norm else nn.Identity()

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(x)))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.ModuleList(Block(3 if l == 0 else width << (l - 1), width << l) for l in range(depth))
            self.mid = Block(width << (depth - 1), width << depth)
            self.dec = nn.ModuleList(Block((width << (l + 1)) + (width << l), width << l) for l in range(depth))
            self.head = nn.Conv2d(width, 1, 1)

        def forward(self, x):
            skips = []
            for block in self.enc:
                x = block(x)
                skips.append(x)
                x = F.max_pool2d(x, 2)
            x = self.mid(x)
            for l in reversed(range(depth)):
                x = F.interpolate(x, scale_factor=2, mode="nearest")
                x = self.dec[l](torch.cat([x, skips[l]], dim=1))
            return self.head(x)[:, 0]

    return UNet()


# safetensors, written and read here (the package is not a Debian one):
# an 8-byte little-endian header length, a JSON header padded with spaces
# to a multiple of 8, then each tensor's little-endian bytes, row-major.
# Keys sorted and data in that order, so the same weights give the same
# bytes.

_DTYPES = {"F32": ("float32", 4), "I64": ("int64", 8)}


def save_safetensors(path, state, metadata):
    import numpy as np

    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(state):
        a = state[name].detach().cpu().contiguous().numpy()
        if a.dtype == np.float32:
            dtype = "F32"
        elif a.dtype == np.int64:
            dtype = "I64"
        else:
            raise ValueError(f"{name}: dtype {a.dtype} not supported")
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_safetensors(torch, path):
    import numpy as np

    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n :]
    state = {}
    for name, spec in header.items():
        np_dtype, size = _DTYPES[spec["dtype"]]
        lo, hi = spec["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=np.dtype(np_dtype).newbyteorder("<")).astype(np_dtype)
        state[name] = torch.from_numpy(a.reshape(spec["shape"]).copy())
    return state


def letterbox(img, size, resample):
    """img (a PIL image) fitted into size x size, aspect kept, centred, the
    rest 0: what dsbuild's resize with keep_aspect does. Returns the image
    and the box (left, top, width, height) the picture occupies."""
    from PIL import Image

    w, h = img.size
    if (w, h) == (size, size):
        return img, (0, 0, size, size)
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    left, top = (size - nw) // 2, (size - nh) // 2
    canvas = Image.new(img.mode, (size, size))
    canvas.paste(img.resize((nw, nh), resample), (left, top))
    return canvas, (left, top, nw, nh)


def to_tensor(torch, img):
    """A PIL RGB image as a (3, H, W) float tensor, each byte / 255."""
    import numpy as np

    a = np.asarray(img.convert("RGB"), dtype=np.float32) / np.float32(255)
    return torch.from_numpy(a.transpose(2, 0, 1).copy())
