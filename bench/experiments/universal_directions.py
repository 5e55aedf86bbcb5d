#!/usr/bin/python3
"""Each recognizer's universal direction, for universal-direction-random-sign.patch:
the unit mean of the unit shifts f(x') - f(x) of faces protected with the
shipped setting (both photos of an LFW fold's first N positive pairs),
written as OUT_DIR/v_NAME.f32 (float32, the embedding's length).

  bench/experiments/universal_directions.py [LFW_DIR] [BUILD_DIR] [FOLD] [PAIRS] [OUT_DIR]

(defaults ../shared/data/lfw build 6 100 out/vdir; run from the repository
root with the unpatched build)."""
import os
import sys

lfw = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/lfw'
build = sys.argv[2] if len(sys.argv) > 2 else 'build'
fold = int(sys.argv[3]) if len(sys.argv) > 3 else 6
npairs = int(sys.argv[4]) if len(sys.argv) > 4 else 100
out = sys.argv[5] if len(sys.argv) > 5 else 'out/vdir'
sys.path.insert(0, build + '/bindings/python')
sys.path.insert(0, 'bench')
import apf  # noqa: E402
import numpy as np  # noqa: E402
import shipped_probe  # noqa: E402
from protect_lab import face_path, read_pairs  # noqa: E402

positive = read_pairs(lfw + '/pairs.txt')[fold - 1][0]
faces = np.stack([apf.load_image(face_path(lfw, name, number))
                  for name, a, _, b in positive[:npairs] for number in (a, b)])
probe = shipped_probe.probe(shipped_probe.decoy_tiles())
protected = np.stack([probe.protect_local(f[None])[0] for f in faces])
os.makedirs(out, exist_ok=True)
for name in ['mobilefacenet', 'mobileface', 'faceres', 'faceapi-recognition']:
    m = apf.Model('models/%s.apfm' % name)
    shift = m.embed(protected) - m.embed(faces)
    shift /= np.linalg.norm(shift, axis=1, keepdims=True)
    v = shift.mean(0)
    print('%s: |mean of the unit shifts| %.3f' % (name, np.linalg.norm(v)))
    (v / np.linalg.norm(v)).astype(np.float32).tofile('%s/v_%s.f32' % (out, name))
