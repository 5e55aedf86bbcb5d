#!/usr/bin/python3
"""Where the shipped noise works, and where it costs SSIM, by spatial
frequency. Protects the first photo of each of N positive pairs of an LFW
fold with the shipped device setting (through the Python binding), splits
each face's noise d into a low band L_s(d) (a Gaussian blur of s = 1, 2, 3
pixels) and the rest d - L_s(d), and the middle band L_1(d) - L_3(d), and
adds each part alone to the clean face. Prints,
per band: the broken share of protected-vs-original per recognizer (the
protected first photo against the clean second; thresholds at each
recognizer's best accuracy on the clean pairs of the calibration fold),
SSIM to the clean face, and the mean |noise|.

  bench/noise_bands.py [LFW_DIR] [BUILD_DIR] [FOLD] [N] [CALIB_FOLD]

(defaults ../shared/data/lfw build 7 100 6; about two minutes.)
"""
import os
import sys

import numpy as np

lfw = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/lfw'
build = sys.argv[2] if len(sys.argv) > 2 else 'build'
fold = int(sys.argv[3]) if len(sys.argv) > 3 else 7
npairs = int(sys.argv[4]) if len(sys.argv) > 4 else 100
calib = int(sys.argv[5]) if len(sys.argv) > 5 else 6
sys.path.insert(0, build + '/bindings/python')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apf  # noqa: E402
import shipped_probe  # noqa: E402
from protect_lab import blur, face_path, read_pairs  # noqa: E402

NAMES = ['mobilefacenet', 'faceres', 'mobileface', 'faceapi-recognition']


def load(pairs):
    a = np.stack([apf.load_image(face_path(lfw, n1, i1)) for n1, i1, _, _ in pairs])
    b = np.stack([apf.load_image(face_path(lfw, n2, i2)) for _, _, n2, i2 in pairs])
    return a, b


folds = read_pairs(lfw + '/pairs.txt')
cal_a, cal_b = load(folds[calib - 1][0] + folds[calib - 1][1])
same = np.r_[np.ones(len(folds[calib - 1][0])), np.zeros(len(folds[calib - 1][1]))]
ev = apf.Evaluator(['models/%s.apfm' % n for n in NAMES])
ev.calibrate(cal_a, cal_b, same)
thr = [ev.threshold(m)[0] for m in range(len(NAMES))]

a, b = load(folds[fold - 1][0][:npairs])
probe = shipped_probe.probe(shipped_probe.decoy_tiles())
protected = np.stack([probe.protect_local(f[None])[0] for f in a])
noise = protected.astype(np.float32) - a.astype(np.float32)
clean = [ev.similarity(m, a, b) >= thr[m] for m in range(len(NAMES))]


def report(label, d):
    x = np.clip(np.rint(a.astype(np.float32) + d), 0, 255).astype(np.uint8)
    broken = []
    for m in range(len(NAMES)):
        after = ev.similarity(m, x, b) >= thr[m]
        broken.append(100.0 * (clean[m] & ~after).sum() / max(clean[m].sum(), 1))
    ssim = [apf.ssim(x[i], a[i]) for i in range(len(x))]
    print('| %s | %s (%.1f) | %.3f / %.3f | %.2f |' % (label, ' / '.join('%.1f' % v for v in broken),
                                                      np.mean(broken), np.mean(ssim), np.min(ssim),
                                                      np.abs(d).mean()))


print('LFW fold %d, first %d positive pairs, thresholds from fold %d; broken share of protected-vs-original'
      % (fold, npairs, calib))
print('| noise | %s (mean) | SSIM mean / min | mean abs noise |' % ' / '.join(NAMES))
print('|---|---|---|---|')
report('shipped, whole', noise)
low = {s: blur(noise, s, edge='edge') for s in (1.0, 2.0, 3.0)}
for s in (1.0, 2.0, 3.0):
    report('below a %g-pixel blur' % s, low[s])
    report('the rest (above it)', noise - low[s])
report('between the 1- and 3-pixel blurs', low[1.0] - low[3.0])
report('the whole, less that band', noise - (low[1.0] - low[3.0]))
