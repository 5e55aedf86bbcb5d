#!/usr/bin/env python3
"""Regenerate the fuzzers' seed corpora (tests/fuzz/corpus/). Needs the
Python module `apf` (PYTHONPATH=build/bindings/python) and tools/apfm.py.
The seeds are committed; rerun only when the formats change."""
import os
import struct
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..")
sys.path.insert(0, os.path.join(root, "tools"))
import apf  # noqa: E402
import apfm  # noqa: E402

C = os.path.join(here, "corpus")
rng = np.random.default_rng(1)


def put(sub, name, data):
    with open(os.path.join(C, sub, name), "wb") as f:
        f.write(data)


def save_bytes(img, ext):
    path = "/tmp/apf-seed" + ext
    if os.path.exists(path):
        os.unlink(path)
    apf.save_image(img, path, 90)
    data = open(path, "rb").read()
    os.unlink(path)
    return data


# images: tiny PNG and JPEG, and a JPEG with EXIF (orientation 6) and a 2-chunk ICC profile
img = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
put("image", "tiny.png", save_bytes(img, ".png"))
jpg = save_bytes(img, ".jpg")
put("image", "tiny.jpg", jpg)
tiff = b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 6) + b"\0\0\0\0"
app1 = b"Exif\0\0" + tiff
icc = bytes(range(256)) * 4
chunks = [icc[:512], icc[512:]]
segs = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
for k, c in enumerate(chunks):
    body = b"ICC_PROFILE\0" + bytes([k + 1, 2]) + c
    segs += b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
put("image", "exif_icc.jpg", jpg[:2] + segs + jpg[2:])

# models (byte 0 selects the form, see fuzz_model.c): a tiny recognizer (16x16 input: conv, prelu, gap, fc) that the fuzzer can run
g = apfm.Graph(16, 16, 3)
x = g.conv_same(0, rng.standard_normal((4, 3, 3, 3)).astype(np.float32), None, (4, 4), 1, name="c1")
x = g.prelu(x, 0.25, name="p1")
x = g.gap(x, name="gap")
x = g.fc(x, rng.standard_normal((5, 4)).astype(np.float32), np.zeros(5, np.float32), name="fc")
apfm.write_apfm("/tmp/apf-seed.apfm", g, x, "tiny", 0, [127.5] * 3, [1 / 128.0] * 3)
model = open("/tmp/apf-seed.apfm", "rb").read()
put("model", "tiny.apfm", b"\0" + model)  # byte 0 even: a whole file
import zlib  # noqa: E402
put("model", "tiny-raw.bin", b"\1" + model[:96] + zlib.decompress(model[96:]))  # odd: header + raw payload
os.unlink("/tmp/apf-seed.apfm")

# wire: a gradient blob (1 face) and a noise blob (2 small faces)
gv = rng.integers(-1, 2, (1, 112, 112, 3)).astype(np.int8)
g_blob = apf.encode_blob(gv, apf.WIRE_GRADIENT, 8, 3, 0x1234)
put("wire", "gradient.bin", g_blob)
sv = np.sign(rng.standard_normal((1, 8, 8, 3)).cumsum(axis=2)).astype(np.int8)  # small, with structure
put("wire", "gradient-small.bin", apf.encode_blob(sv, apf.WIRE_GRADIENT, 8, 4, 0))
# gradient-v1.bin (committed, not regenerated): a version 1 (2-bit zlib) blob
nv = rng.integers(-8, 9, (2, 4, 4, 3)).astype(np.int8)
put("wire", "noise.bin", apf.encode_blob(nv, apf.WIRE_NOISE, 8, 3, 0))

# http: method byte, path, newline, body
put("http", "filter.bin", b"\x01/v1/filter\n" + g_blob)
put("http", "health.bin", b"\x00/health\n")
put("http", "bad.bin", b"\x01/v1/filter\nAPFW\x01\x00")
print("seeds written to", C)
