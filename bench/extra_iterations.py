#!/usr/bin/python3
"""Would more iterations for the faces the attack leaves close to themselves
pay? The shipped probe (through the library's Python binding, the same
options and decoys apf-eval uses) protects the first photo of each of N
positive pairs at BASE and at MORE iterations. The first BASE iterations of
both runs are the same steps (each face's randomness is its own stream), so
"MORE iterations only for the flagged faces" is, exactly, the MORE run's
face where the flag is set and the BASE run's elsewhere. The flag is the
device's own knowledge: the probe model's cosine between the protected face
and the face as given, after BASE iterations, above C.

Prints, per recognizer, the broken share (protected first photo against the
clean second; thresholds and the clean matches from an apf-eval run on the
same pairs, its pairs.csv) for BASE, MORE, and each flag level, with the
share of faces flagged.

  bench/extra_iterations.py LFW_DIR BUILD_DIR EVAL_OUT [FOLD] [PAIRS] [BASE] [MORE]

e.g. after `apf-eval --lfw ../shared/data/lfw --fold 7 --calib-folds 6
--max-pairs 100 --out out/v7`:
  bench/extra_iterations.py ../shared/data/lfw build out/v7 7 100 11 15
"""
import csv
import sys

lfw, build, eval_out = sys.argv[1:4]
fold = int(sys.argv[4]) if len(sys.argv) > 4 else 7
npairs = int(sys.argv[5]) if len(sys.argv) > 5 else 100
base, more = (int(sys.argv[6]), int(sys.argv[7])) if len(sys.argv) > 7 else (11, 15)
sys.path.insert(0, build + '/bindings/python')
import apf  # noqa: E402
import numpy as np  # noqa: E402
import shipped_probe  # noqa: E402
from protect_lab import face_path, read_pairs  # noqa: E402

NAMES = ['mobilefacenet', 'faceres', 'mobileface', 'faceapi-recognition']
pairs = read_pairs(lfw + '/pairs.txt')[fold - 1][0][:npairs]
A = np.stack([apf.load_image(face_path(lfw, name, a)) for name, a, _, b in pairs]).astype(np.uint8)
B = np.stack([apf.load_image(face_path(lfw, name, b)) for name, a, _, b in pairs]).astype(np.uint8)
tiles = shipped_probe.decoy_tiles()
models = [apf.Model('models/%s.apfm' % n) for n in NAMES]


def protect(iterations):
    p = shipped_probe.probe(tiles, iterations=iterations)
    adv = np.stack([p.protect_local(f[None])[0] for f in A])  # as apf protect applies g
    to_self = (models[0].embed(adv) * models[0].embed(A)).sum(1)  # what the device can check
    to_b = [(m.embed(adv) * m.embed(B)).sum(1) for m in models]
    return to_self, to_b


rows = [r for r in csv.DictReader(open(eval_out + '/pairs.csv')) if r['row'] == 'APF_g']
thr = {r['recognizer']: float(r['threshold']) for r in rows}
clean = {(r['recognizer'], int(r['pair'])): r['matched_clean'] == '1' for r in rows}

self_base, b_base = protect(base)
_, b_more = protect(more)


def broken(use_more):
    shares = []
    for k, n in enumerate(NAMES):
        pairs = [i for i in range(npairs) if clean[(n, i)]]
        still = sum((b_more if use_more[i] else b_base)[k][i] > thr[n] for i in pairs)
        shares.append(100.0 * (1 - still / len(pairs)))
    return shares


def line(label, use_more):
    s = broken(use_more)
    print('| %s | %.0f%% | %s | %.1f |' % (label, 100.0 * sum(use_more) / npairs,
                                          ' | '.join('%.1f%%' % x for x in s), sum(s) / 4))


print('LFW fold %d, first %d positive pairs; broken share of the protected first photo '
      'against the clean second' % (fold, npairs))
print('| iterations | faces with more | mobilefacenet | faceres | mobileface | dlib | mean |')
print('|---|---|---|---|---|---|---|')
line('%d' % base, [False] * npairs)
line('%d' % more, [True] * npairs)
for c in (0.2, 0.25, 0.3, 0.35):
    line('%d, %d where the probe cosine to the face as given > %.2f' % (base, more, c),
         [bool(x > c) for x in self_base])
