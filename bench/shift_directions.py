#!/usr/bin/python3
"""Where protection moves a face's embedding, and why two protected photos
of one person can still match each other (docs/protection.md, "Decoys").

Protects both photos of the first N positive pairs of an LFW fold with the
shipped device setting (through the Python binding), then per recognizer
prints, averaged over the pairs:
  self     cos(e, e')            protected vs its own original
  pair     cos(e1, e2)           the two originals
  adv-adv  cos(e1', e2')         the two protected photos
  new      cos(w1, w2)           w = e' minus its part along e, normalised:
                                 the new direction each photo was moved into,
                                 same person ...
  other    cos(w1, w2')          ... and two different people (pair i's first
                                 photo against pair i+1's second)
  shared   |mean of the unit shifts (e' - e)|, and 1/sqrt(2N) for scale: a
           shift shared by every face (a universal direction) would show here.

usage: bench/shift_directions.py [LFW_DIR] [BUILD_DIR] [FOLD] [PAIRS] [random]
       (random: random directions at the decoys' weight instead of decoys)
       (defaults ../shared/data/lfw build 6 100; about a minute for 100
       pairs on 2 cores). Models from models/ (tools/setup-models.sh).
"""
import sys

import numpy as np

lfw = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/lfw'
build = sys.argv[2] if len(sys.argv) > 2 else 'build'
fold = int(sys.argv[3]) if len(sys.argv) > 3 else 6
npairs = int(sys.argv[4]) if len(sys.argv) > 4 else 100
with_decoys = not (len(sys.argv) > 5 and sys.argv[5] == 'random')
sys.path.insert(0, build + '/bindings/python')
import apf  # noqa: E402
from protect_lab import face_path, read_pairs  # noqa: E402  (bench/, beside this script)

RECOGNIZERS = ['mobilefacenet', 'mobileface', 'faceres', 'faceapi-recognition']

positive = read_pairs(lfw + '/pairs.txt')[fold - 1][0]
faces = np.stack([apf.load_image(face_path(lfw, name, number))
                  for name, a, _, b in positive[:npairs] for number in (a, b)])

# the shipped device setting (examples/common/probe_list.h) and decoys
probe = apf.Probe('models/mobilefacenet.apfm', iterations=11, step=3, random_target=0.4,
                  smooth_sigma=0.5, reach_budget=1, diversity_jpeg=75, ssim_floor=0.8,
                  diversity_blur=0.25, threads=2)
probe.add_model('models/mobileface.apfm', 1.5, 8, 1)
probe.add_model('models/faceres.apfm', 1, 1, 2)
probe.add_model('models/faceapi-recognition.apfm', 1, 1, 2)
if with_decoys:
    mosaic = np.asarray(apf.load_image('weights/decoys.jpg'))  # 8 x 8 faces of 112 pixels
    probe.set_decoys(np.stack([mosaic[r * 112:(r + 1) * 112, c * 112:(c + 1) * 112]
                               for r in range(8) for c in range(8)]))
protected = np.stack([probe.protect_local(f[None])[0] for f in faces])


def unit(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


print('LFW fold %d, first %d positive pairs, both photos protected; pull toward %s' % (
    fold, npairs, 'decoys' if with_decoys else 'random directions'))
print('| recognizer | self | pair | adv-adv | new, same person | new, other people | shared (1/sqrt(2N)) |')
print('|---|---|---|---|---|---|---|')
for name in RECOGNIZERS:
    model = apf.Model('models/%s.apfm' % name)
    e, ep = unit(np.asarray(model.embed(faces))), unit(np.asarray(model.embed(protected)))
    w = unit(ep - np.sum(ep * e, 1, keepdims=True) * e)
    shift = unit(ep - e)
    same = np.sum(w[0::2] * w[1::2], 1).mean()
    other = np.sum(w[0::2] * np.roll(w[1::2], 1, axis=0), 1).mean()
    print('| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f (%.3f) |' % (
        name, np.sum(e * ep, 1).mean(), np.sum(e[0::2] * e[1::2], 1).mean(),
        np.sum(ep[0::2] * ep[1::2], 1).mean(), same, other,
        np.linalg.norm(shift.mean(0)), 1 / np.sqrt(len(faces))))
