#!/usr/bin/python3
"""Device-side protection variants, measured on LFW pairs with the library's
own models (apf.Model: embed and input gradient). A laboratory for choosing
what the C probe does; every figure it prints is a measurement on the pairs
named on the command line.

For each variant it protects both faces of N positive pairs and reports, per
recognizer: the ceiling (share of pairs matched before protection), Eq. 11's
ASR for protected-vs-original (adv-orig) and protected-vs-protected
(adv-adv), each also as the broken share (ASR / ceiling), and SSIM.
Thresholds are each recognizer's best-accuracy threshold on the clean pairs
of the calibration folds (LFW's protocol: never the scored fold).

  bench/protect_lab.py --lfw ../shared/data/lfw --fold 7 --calib 5,6 --pairs 100 \
      --variant 'mfn' --variant 'mfn+mobileface'

Variant grammar: '+'-joined probe model names (mfn, mobileface, faceres,
dlib), then optional ':key=value' settings: iters, step, eps, target
(away|random|both), div (none|di|rich), sched (all: every model each
iteration; rr: one model per iteration in turn), tex (local SSIM a per-pixel
budget from texture aims at; 0 = uniform eps), w_<model> (ensemble weight),
ti (blur each step's gradient by a Gaussian of this sigma: the
translation-invariant attack), lf (the noise lives at 1/lf resolution and
is bilinear-upsampled), fin (tern: apply eps * sign(x_T - x0) as the wire
carries it, the default; raw: the attack's own result, as the device applies
it with its reach budget; sparseN: eps * sign where the attack moved a value
by N or more, else 0).
Run with /usr/bin/python3 (numpy) and APF_PYTHONPATH=<build>/bindings/python.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.environ.get("APF_PYTHONPATH", "build/bindings/python"))
import apf  # noqa: E402

MODELS = {"mfn": "mobilefacenet.apfm", "mobileface": "mobileface.apfm",
          "faceres": "faceres.apfm", "dlib": "faceapi-recognition.apfm"}


def read_pairs(path):
    with open(path) as f:
        nfold, per = map(int, f.readline().split())
        folds = []
        for _ in range(nfold):
            pos = [f.readline().split() for _ in range(per)]
            neg = [f.readline().split() for _ in range(per)]
            folds.append(([(p[0], int(p[1]), p[0], int(p[2])) for p in pos],
                          [(p[0], int(p[1]), p[2], int(p[3])) for p in neg]))
    return folds


def face_path(root, name, idx):
    return os.path.join(root, "aligned112", name, "%s_%04d.jpg" % (name, idx))


_cache = {}


def face(root, name, idx):
    key = (name, idx)
    if key not in _cache:
        _cache[key] = apf.load_image(face_path(root, name, idx)).astype(np.float32)
    return _cache[key]


def best_threshold(sims, same):
    order = np.argsort(sims)
    s, y = sims[order], same[order]
    # threshold between consecutive sims: accuracy = (neg below + pos above)
    neg_below = np.cumsum(~y)
    pos_above = y.sum() - np.cumsum(y)
    acc = (neg_below + pos_above) / len(s)
    k = int(np.argmax(acc))
    t = (s[k] + s[k + 1]) / 2 if k + 1 < len(s) else s[k] + 1e-6
    return float(t), float(acc[k])


def embed(m, x, batch=32):
    return np.concatenate([m.embed(x[i:i + batch]) for i in range(0, len(x), batch)])


def diversity(rng, x, mode, p=0.5):
    """A random differentiable-by-construction transform of a batch: returns
    the transformed batch and a function mapping its gradient back."""
    if mode == "none" or rng.random() >= p:
        return x, lambda g: g
    n, s = x.shape[0], x.shape[1]
    if mode == "di":  # rescale down and pad at a random place (DI2-FGSM)
        r = int(rng.integers(int(s * 0.9), s + 1))
        idx = (np.arange(r) * s / r).astype(int)
        top, left = int(rng.integers(0, s - r + 1)), int(rng.integers(0, s - r + 1))
        out = np.zeros_like(x)
        out[:, top:top + r, left:left + r] = x[:, idx][:, :, idx]

        def back(g):
            gx = np.zeros_like(x)
            np.add.at(gx, (slice(None), idx[:, None], idx[None, :]), g[:, top:top + r, left:left + r])
            return gx
        return out, back
    # rich: shift, flip, gain/offset, rescale
    dy, dx = rng.integers(-4, 5, size=2)
    flip = rng.random() < 0.5
    gain = 1 + rng.uniform(-0.1, 0.1, size=3).astype(np.float32)
    off = rng.uniform(-10, 10, size=3).astype(np.float32)
    y = np.roll(x, (dy, dx), axis=(1, 2))
    if flip:
        y = y[:, :, ::-1]
    y = y * gain + off
    r = int(rng.integers(int(s * 0.88), s + 1))
    idx = (np.arange(r) * s / r).astype(int)
    top, left = int(rng.integers(0, s - r + 1)), int(rng.integers(0, s - r + 1))
    out = np.full_like(x, 127.5)
    out[:, top:top + r, left:left + r] = y[:, idx][:, :, idx]

    def back(g):
        gy = np.zeros_like(x)
        np.add.at(gy, (slice(None), idx[:, None], idx[None, :]), g[:, top:top + r, left:left + r])
        gy = gy * gain
        if flip:
            gy = gy[:, :, ::-1]
        return np.roll(gy, (-dy, -dx), axis=(1, 2))
    return out, back


def blur(a, sigma=1.5, edge="reflect"):
    """Separable Gaussian blur over the two pixel axes of an NHWC batch;
    edge is np.pad's mode past the border ("edge" repeats the last pixel)."""
    r = int(3 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    for ax in (1, 2):
        pad = [(0, 0)] * a.ndim
        pad[ax] = (r, r)
        ap = np.pad(a, pad, mode=edge)
        a = sum(k[i] * np.take(ap, range(i, i + a.shape[ax]), axis=ax) for i in range(2 * r + 1))
    return a


def texture_budget(x0, eps, target):
    """Per-value L-inf budget from local texture: with noise of variance b^2
    where the image's local variance is s^2, SSIM's contrast-structure term is
    about (2 s^2 + C2) / (2 s^2 + b^2 + C2); b is chosen so that term equals
    `target`, capped at eps (floor 1)."""
    mu = blur(x0)
    var = np.maximum(blur(x0 * x0) - mu * mu, 0)
    c2 = (0.03 * 255) ** 2
    b = np.sqrt((1 - target) / target * (2 * var + c2))
    return np.clip(b, 1.0, eps).astype(np.float32)


def upsampler(s, f):
    """Bilinear upsampling matrix (s x s/f), rows summing to 1, so a low-res
    field within [-eps, eps] stays within it at full resolution."""
    r = s // f
    U = np.zeros((s, r), np.float32)
    for i in range(s):
        c = (i + 0.5) / f - 0.5
        c0 = int(np.floor(c))
        w = c - c0
        for j, wt in ((c0, 1 - w), (c0 + 1, w)):
            U[i, min(max(j, 0), r - 1)] += wt
    return U


def attack(models, weights, x0, cfg, seed):
    rng = np.random.default_rng(seed)
    eps, step, iters = cfg["eps"], cfg["step"], cfg["iters"]
    lim = texture_budget(x0, eps, cfg["tex"]) if cfg["tex"] > 0 else eps
    n = len(x0)
    clean = [m.embed(x0) for m in models]
    targets = []
    for m, e in zip(models, clean):
        t = rng.standard_normal(e.shape).astype(np.float32)
        t -= (t * e).sum(1, keepdims=True) * e  # orthogonal to the clean embedding
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        targets.append(t)
    f = int(cfg["lf"])
    U = upsampler(x0.shape[1], f) if f > 1 else None
    if U is not None:  # low-frequency: the perturbation is U z U^T, z at 1/f resolution
        z = rng.uniform(-step, step, (n, U.shape[1], U.shape[1], 3)).astype(np.float32)
        up = lambda z: np.einsum("jb,niba->nija", U, np.einsum("ia,nabc->nibc", U, z))
        down = lambda g: np.einsum("jb,nija->niba", U, np.einsum("ia,nijc->najc", U, g))
        x = np.clip(x0 + up(z), 0, 255)
    else:
        x = np.clip(x0 + rng.uniform(-step, step, x0.shape).astype(np.float32), 0, 255)
    mom = np.zeros_like(x0) if U is None else np.zeros((n, U.shape[1], U.shape[1], 3), np.float32)
    for it in range(iters):
        xin, back = diversity(rng, x, cfg["div"])
        grad = np.zeros_like(x0)
        for j, (m, w, e, t) in enumerate(zip(models, weights, clean, targets)):
            if cfg["sched"] == "rr" and j != it % len(models):
                continue  # round robin: one model per iteration
            f = m.embed(xin)
            # maximise: away -> -cos(f, e); random -> cos(f, t); both -> sum
            d = np.zeros_like(f)
            if cfg["target"] in ("away", "both"):
                d -= e
            if cfg["target"] in ("random", "both"):
                d += t
            gi = back(m.gradient(xin, d))
            gi /= np.abs(gi).reshape(n, -1).mean(1)[:, None, None, None] + 1e-12
            grad += w * gi
        if cfg["ti"] > 0:
            grad = blur(grad, cfg["ti"])
        if U is not None:
            grad = down(grad)
        if cfg["mom"] > 0:
            mom = cfg["mom"] * mom + grad / (np.abs(grad).reshape(n, -1).mean(1)[:, None, None, None] + 1e-12)
            grad = mom
        if U is not None:
            z = np.clip(z + step * np.sign(grad), -eps, eps)
            x = np.clip(x0 + up(z), 0, 255)
        else:
            x = np.clip(np.clip(x + step * np.sign(grad), x0 - lim, x0 + lim), 0, 255)
    if cfg["fin"] == "tern":  # what the wire carries: x0 + eps * sign(x_T - x0)
        return np.clip(np.round(x0 + lim * np.sign(np.round(x) - x0)), 0, 255)
    if cfg["fin"].startswith("sparse"):  # ternary with 0 where the attack moved less than N
        d = np.round(x) - x0
        return np.clip(np.round(x0 + lim * np.sign(d) * (np.abs(d) >= float(cfg["fin"][6:]))), 0, 255)
    return np.round(x)


def parse_variant(v):
    name, *opts = v.split(":")
    cfg = {"iters": 30, "step": 2.0, "eps": 8.0, "target": "away", "div": "di", "mom": 0.0, "sched": "all", "tex": 0.0,
           "lf": 1, "ti": 0.0, "fin": "tern"}
    w = {}
    for o in opts:
        k, val = o.split("=")
        if k.startswith("w_"):
            w[k[2:]] = float(val)
        elif k in ("iters", "lf"):
            cfg[k] = int(val)
        elif k in ("step", "eps", "mom", "tex", "ti"):
            cfg[k] = float(val)
        else:
            cfg[k] = val
    names = name.split("+")
    return names, [w.get(m, 1.0) for m in names], cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", default="../shared/data/lfw")
    ap.add_argument("--models", default="models")
    ap.add_argument("--fold", type=int, default=7, help="scored fold (1-based)")
    ap.add_argument("--calib", default="5,6", help="calibration folds (1-based, comma-separated)")
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--variant", action="append", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    folds = read_pairs(os.path.join(a.lfw, "pairs.txt"))
    ev = {k: apf.Model(os.path.join(a.models, f), threads=2) for k, f in MODELS.items()}
    # thresholds on the calibration folds' clean pairs
    thr = {}
    cal = [folds[int(c) - 1] for c in a.calib.split(",")]
    for k, m in ev.items():
        sims, same = [], []
        for pos, neg in cal:
            for lab, pairs in ((True, pos), (False, neg)):
                A = np.stack([face(a.lfw, p[0], p[1]) for p in pairs])
                B = np.stack([face(a.lfw, p[2], p[3]) for p in pairs])
                sims.append((embed(m, A) * embed(m, B)).sum(1))
                same.append(np.full(len(pairs), lab))
        thr[k] = best_threshold(np.concatenate(sims), np.concatenate(same))
    print("thresholds (calibrated on folds %s):" % a.calib,
          ", ".join("%s %.3f (acc %.1f%%)" % (k, t, 100 * acc) for k, (t, acc) in thr.items()))
    pos = folds[a.fold - 1][0][:a.pairs]
    A = np.stack([face(a.lfw, p[0], p[1]) for p in pos])
    B = np.stack([face(a.lfw, p[2], p[3]) for p in pos])
    cleanA = {k: embed(m, A) for k, m in ev.items()}
    cleanB = {k: embed(m, B) for k, m in ev.items()}
    before = {k: ((cleanA[k] * cleanB[k]).sum(1) > thr[k][0]) for k in ev}
    print("fold %d, %d positive pairs; ceiling: %s" % (a.fold, len(pos),
          ", ".join("%s %.0f%%" % (k, 100 * before[k].mean()) for k in ev)))
    for v in a.variant:
        names, weights, cfg = parse_variant(v)
        probes = [ev[m] for m in names]
        t0 = time.time()
        pA = np.concatenate([attack(probes, weights, A[i:i + 25], cfg, a.seed * 1000 + i) for i in range(0, len(A), 25)])
        pB = np.concatenate([attack(probes, weights, B[i:i + 25], cfg, a.seed * 1000 + 7919 + i) for i in range(0, len(B), 25)])
        dt = (time.time() - t0) / (2 * len(A))
        ss = np.array([apf.ssim(pA[i].astype(np.uint8), A[i].astype(np.uint8)) for i in range(len(A))])
        row = []
        for k, m in ev.items():
            eA = embed(m, pA)
            eB = embed(m, pB)
            ao = (eA * cleanB[k]).sum(1) > thr[k][0]
            aa = (eA * eB).sum(1) > thr[k][0]
            ceil = before[k].mean()
            asr_ao = before[k].mean() - ao.mean()
            asr_aa = before[k].mean() - aa.mean()
            row.append("%s %3.0f%%/%3.0f%%" % (k, 100 * asr_ao / ceil, 100 * asr_aa / ceil))
        print("%-40s broken adv-orig/adv-adv: %s | SSIM %.3f (min %.3f) | %.0f ms/face (python)"
              % (v, "  ".join(row), ss.mean(), ss.min(), 1000 * dt), flush=True)


if __name__ == "__main__":
    main()
