#!/usr/bin/python3
"""Would the device do better to stop the attack early on the faces it has
already parted from themselves, and run on where it has not? The shipped
probe (through the library's Python binding, the options and decoys
apf-eval uses) protects the first photo of each of N positive pairs at
each iteration count in KS. A face's first k steps are the same in every
run (its randomness is its own stream), so a policy "k0 iterations, then on
to k1 where the check fails" is, exactly, the k1 run's face where the check
failed and the k0 run's elsewhere.

The check is what the device can compute: each recognizer's cosine between
the protected face and the face as given, against that recognizer's
threshold (from an apf-eval run on the same pairs), and optionally the same
after JPEG q75. It costs one forward pass of each recognizer per image
checked.

Both photos of each pair are protected. Prints, for every fixed count and
every policy, per recognizer and as their mean, the broken share of the
protected first photo against the clean second, the same after JPEG q75,
and of the two protected photos against each other (adv-adv), with the
mean iterations per face (a check counted as a third of an iteration, a
check of the face and its JPEG re-encoding as two thirds).

  bench/adaptive_iterations.py LFW_DIR BUILD_DIR EVAL_OUT [FOLD] [PAIRS]

e.g. after `apf-eval --lfw ../shared/data/lfw --fold 7 --calib-folds 6
--max-pairs 100 --out out/v7`:
  bench/adaptive_iterations.py ../shared/data/lfw build out/v7 7 100
"""
import csv
import os
import sys
import tempfile

lfw, build, eval_out = sys.argv[1:4]
fold = int(sys.argv[4]) if len(sys.argv) > 4 else 7
npairs = int(sys.argv[5]) if len(sys.argv) > 5 else 100
KS = [int(k) for k in os.environ.get('KS', '7,8,9,10,11,12,13,14').split(',')]
sys.path.insert(0, build + '/bindings/python')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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
embA = [m.embed(A) for m in models]
embB = [m.embed(B) for m in models]
tmp_dir = tempfile.TemporaryDirectory()  # the JPEG round trips' files, removed at exit
tmp = tmp_dir.name


def jpeg75(faces):
    out = []
    for i, f in enumerate(faces):
        path = '%s/%d.jpg' % (tmp, i)
        apf.save_image(f, path, jpeg_quality=75)
        out.append(apf.load_image(path))
        os.remove(path)
    return np.stack(out).astype(np.uint8)


def protect(iterations):
    """Both photos of each pair at this count: the embeddings the checks
    and the scores need."""
    p = shipped_probe.probe(tiles, iterations=iterations)
    r = {}
    for side, faces, clean_emb in (('A', A, embA), ('B', B, embB)):
        adv = np.stack([p.protect_local(f[None])[0] for f in faces])  # as apf protect applies g
        advj = jpeg75(adv)
        r[side] = [m.embed(adv) for m in models]
        r[side + 'j'] = [m.embed(advj) for m in models]
        r[side + 'self'] = np.stack([(e * c).sum(1) for e, c in zip(r[side], clean_emb)])
        r[side + 'selfj'] = np.stack([(e * c).sum(1) for e, c in zip(r[side + 'j'], clean_emb)])
    return r


rows = [r for r in csv.DictReader(open(eval_out + '/pairs.csv')) if r['row'] == 'APF_g']
thr = np.array([float([r for r in rows if r['recognizer'] == n][0]['threshold']) for n in NAMES])
clean = np.array([[any(r['recognizer'] == n and int(r['pair']) == i and r['matched_clean'] == '1' for r in rows)
                   for i in range(npairs)] for n in NAMES])

runs = {}
for k in KS:
    runs[k] = protect(k)
    print('protected at %d iterations' % k, file=sys.stderr)


def emb(side, pick, m):
    """Recognizer m's embeddings of the protected photos on one side, each
    face at the count pick[i] gives it."""
    return np.stack([runs[pick[i]][side][m][i] for i in range(npairs)])


def shares(pick_a, pick_b):
    adv_orig, jpeg, adv_adv = [], [], []
    for m in range(4):
        c = clean[m]
        sim = (emb('A', pick_a, m) * embB[m]).sum(1)
        simj = (emb('Aj', pick_a, m) * embB[m]).sum(1)
        simaa = (emb('A', pick_a, m) * emb('B', pick_b, m)).sum(1)
        adv_orig.append(100.0 * (1 - (sim[c] > thr[m]).mean()))
        jpeg.append(100.0 * (1 - (simj[c] > thr[m]).mean()))
        adv_adv.append(100.0 * (1 - (simaa[c] > thr[m]).mean()))
    return adv_orig, jpeg, adv_adv


def show(label, pick_a, pick_b, extra):
    cols = shares(pick_a, pick_b)
    cost = (np.mean(pick_a) + np.mean(pick_b)) / 2 + extra
    print('| %s | %.2f | %s |' % (label, cost, ' | '.join('%s (%.1f)' % (' / '.join('%.1f' % x for x in c), np.mean(c))
                                                       for c in cols)))


print('| policy | iterations per face | broken: %s (mean) | after JPEG q75 (mean) | adv-adv (mean) |'
      % ' / '.join(NAMES))
print('|---|---|---|---|---|')
for k in KS:
    show('%d for every face' % k, [k] * npairs, [k] * npairs, 0)
for k0 in KS:
    for k1 in KS:
        if k1 <= k0:
            continue
        for jpeg_too in (0, 1):
            picks, failed = [], []
            for side in ('A', 'B'):
                fail = (runs[k0][side + 'self'] > thr[:, None]).any(0)
                if jpeg_too:
                    fail |= (runs[k0][side + 'selfj'] > thr[:, None]).any(0)
                picks.append([k1 if fail[i] else k0 for i in range(npairs)])
                failed.append(fail.mean())
            show('%d, then %d where a recognizer still matches the face as given%s (%d%% of faces)'
                 % (k0, k1, ' or its JPEG q75' if jpeg_too else '', 100 * np.mean(failed)), picks[0], picks[1],
                 (2.0 if jpeg_too else 1.0) / 3)
