#!/usr/bin/env python3
"""Make the decoy faces that `apf protect` pulls each protected face toward
(apf_probe_set_decoys, docs/end-side.md): a mosaic of aligned LFW faces of
identities that appear in no pair of pairs.txt (so no scored fold holds
them), one face each, drawn with a fixed seed.

    tools/make-decoys.py [LFW_DIR] [COUNT] [OUT]
    (defaults ../shared/data/lfw, 64, weights/decoys.jpg)

Needs the Python binding (build/bindings/python, or BUILD_DIR in the
environment) and numpy. The mosaic is COLUMNS faces wide (8), 112 pixels
per face, JPEG quality 95.
"""
import os
import random
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, os.environ.get("BUILD_DIR", "build"), "bindings", "python"))
import numpy as np  # noqa: E402
import apf  # noqa: E402

COLUMNS = 8
SIDE = 112
SEED = 1


def paired_identities(pairs_path):
    names = set()
    with open(pairs_path) as f:
        next(f)
        for line in f:
            fields = line.split()
            if len(fields) == 3:
                names.add(fields[0])
            elif len(fields) == 4:
                names.update((fields[0], fields[2]))
    return names


def main():
    lfw = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data", "lfw")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "weights", "decoys.jpg")
    if count < 1 or count % COLUMNS:
        sys.exit("make-decoys: COUNT must be a positive multiple of %d" % COLUMNS)
    faces_dir = os.path.join(lfw, "aligned112")
    paired = paired_identities(os.path.join(lfw, "pairs.txt"))
    unpaired = sorted(i for i in os.listdir(faces_dir) if i not in paired)
    if len(unpaired) < count:
        sys.exit("make-decoys: only %d unpaired identities" % len(unpaired))
    picked = random.Random(SEED).sample(unpaired, count)
    rows = count // COLUMNS
    mosaic = np.zeros((rows * SIDE, COLUMNS * SIDE, 3), dtype=np.uint8)
    for k, name in enumerate(picked):
        first = sorted(os.listdir(os.path.join(faces_dir, name)))[0]
        face = np.asarray(apf.load_image(os.path.join(faces_dir, name, first)), dtype=np.uint8)
        if face.shape != (SIDE, SIDE, 3):
            sys.exit("make-decoys: %s/%s is not %dx%d RGB" % (name, first, SIDE, SIDE))
        r, c = divmod(k, COLUMNS)
        mosaic[r * SIDE:(r + 1) * SIDE, c * SIDE:(c + 1) * SIDE] = face
    apf.save_image(mosaic, out, jpeg_quality=95)
    print("%s: %d decoy faces (%d unpaired identities, seed %d)" % (out, count, len(unpaired), SEED))


if __name__ == "__main__":
    main()
