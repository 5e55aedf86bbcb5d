#!/usr/bin/python3
"""Where the shipped device setting's time goes: the shipped probe timed
against copies with one part switched off, and against the paper's
DI2-FGSM, face by face in turns (every variant sees the same neighbours),
through the library's Python binding. Each difference is what that part
costs per face, protection aside (a part switched off also changes the
attack's path, so the differences add up only roughly).

  bench/device_time_parts.py [LFW_DIR] [BUILD_DIR] [FACES] [ROUNDS]

(defaults ../shared/data/lfw build 8 3; about two minutes.)
"""
import glob
import sys
import time

lfw = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/lfw'
build = sys.argv[2] if len(sys.argv) > 2 else 'build'
nfaces = int(sys.argv[3]) if len(sys.argv) > 3 else 8
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
sys.path.insert(0, build + '/bindings/python')
import apf  # noqa: E402
import numpy as np  # noqa: E402
import shipped_probe  # noqa: E402

faces = np.stack([apf.load_image(p) for p in sorted(glob.glob(lfw + '/aligned112/*/*.jpg'))[:nfaces]])
tiles = shipped_probe.decoy_tiles()


def shipped(**change):
    return shipped_probe.probe(tiles, **change)


variants = [
    ('shipped', shipped()),
    ('without the JPEG stand-in', shipped(diversity_jpeg=0)),
    ('without the blur in the diversity', shipped(diversity_blur=0)),
    ('without the gradient smoothing', shipped(smooth_sigma=0)),
    ('without the SSIM floor', shipped(ssim_floor=0)),
    ("mobileface's 7 further samples", shipped(samples=1)),
    ('faceres (every second iteration)', shipped(faceres=False)),
    ('dlib ResNet-34 (every second iteration)', shipped(dlib=False)),
    ("the paper's DI2-FGSM (MobileFaceNet, 30 iterations)",
     apf.Probe('models/mobilefacenet.apfm', attack='di2-fgsm', iterations=30, step=2)),
]
for _, p in variants:  # the first call builds each model's plans: not timed
    p.gradient_reach(faces[:1])
spent = [0.0] * len(variants)
for _ in range(rounds):
    for f in faces:
        for k, (_, p) in enumerate(variants):
            t0 = time.perf_counter()
            p.gradient_reach(f[None])
            spent[k] += time.perf_counter() - t0
ms = [s / rounds / nfaces * 1e3 for s in spent]
print('%d LFW faces x %d rounds, batch 1, the probe\'s default threads' % (nfaces, rounds))
print('| variant | ms per face | the part costs | ratio to the paper\'s DI2-FGSM |')
print('|---|---|---|---|')
for k, (name, _) in enumerate(variants):
    cost = '' if k in (0, len(variants) - 1) else '%.1f ms' % (ms[0] - ms[k])
    print('| %s | %.1f | %s | %.2f |' % (name, ms[k], cost, ms[k] / ms[-1]))
