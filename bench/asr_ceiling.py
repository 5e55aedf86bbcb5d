#!/usr/bin/env python3
"""ASR ceiling per recognizer: with ASR = (matched before - matched after) /
positive pairs (Eq. 11), no protection can exceed the share of positive
pairs a recognizer matches before protection. Prints that share on one
fold of an LFW pairs file, at each recognizer's best-accuracy threshold
calibrated on the fold's own pairs (as apf-eval does).

    PYTHONPATH=build/bindings/python bench/asr_ceiling.py [--fold 8] [--lfw DIR] [--models a,b,...]
"""
import argparse
import os
import sys

import numpy as np

import apf

ap = argparse.ArgumentParser()
ap.add_argument("--fold", type=int, default=8)
ap.add_argument("--lfw", default="../shared/data/lfw")
ap.add_argument("--models", default="models/mobilefacenet.apfm,models/faceres.apfm,"
                "models/mobileface.apfm,models/faceapi-recognition.apfm")
args = ap.parse_args()

lines = open(os.path.join(args.lfw, "pairs.txt")).read().split("\n")
folds, per = (int(v) for v in lines[0].split())
block = lines[1 + (args.fold - 1) * 2 * per: 1 + args.fold * 2 * per]
if args.fold > folds or len(block) != 2 * per:
    sys.exit("fold %d not in the pairs file" % args.fold)


def face(name, idx):
    return apf.load_image(os.path.join(args.lfw, "aligned112", name, "%s_%04d.jpg" % (name, int(idx))))


a, b, same = [], [], []
for ln in block:
    f = ln.split()
    if len(f) == 3:
        a.append(face(f[0], f[1])), b.append(face(f[0], f[2])), same.append(1)
    else:
        a.append(face(f[0], f[1])), b.append(face(f[2], f[3])), same.append(0)
a, b, same = np.stack(a), np.stack(b), np.array(same, np.uint8)
paths = args.models.split(",")
with apf.Evaluator(paths, threads=2) as ev:
    ev.calibrate(a, b, same)
    pos = same == 1
    print(f"fold {args.fold}: {pos.sum()} positive pairs of {len(same)}")
    print("| recognizer | clean accuracy | threshold | positive pairs matched before = ASR ceiling |")
    print("|---|---|---|---|")
    for m, name in enumerate(ev.model_names):
        thr, acc = ev.threshold(m)
        sim = ev.similarity(m, a[pos], b[pos])
        matched = int((sim >= thr).sum())
        print(f"| {name} | {100 * acc:.2f}% | {thr:.3f} | {matched}/{pos.sum()} = {100 * matched / pos.sum():.1f}% |")
