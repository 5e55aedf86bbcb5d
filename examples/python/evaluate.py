#!/usr/bin/env python3
"""Does a protected face still match its person? (`apf` module)

    evaluate.py ORIGINAL.png PROTECTED.png OTHER.jpg MODEL.apfm...

Prints SSIM and, per recognizer, the genuine pair's cosine similarity before
(original vs other) and after (protected vs other) protection."""
import sys

import apf


def main(original, protected, other, *models):
    a, p, o = (apf.load_image(x) for x in (original, protected, other))
    print("SSIM %.4f" % apf.ssim(a, p))
    print("%-24s %8s %8s" % ("recognizer", "before", "after"))
    with apf.Evaluator(models) as ev:
        for k, name in enumerate(ev.model_names):
            before = ev.similarity(k, a, o)[0]
            after = ev.similarity(k, p, o)[0]
            print("%-24s %8.3f %8.3f" % (name, before, after))


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:])
    except apf.Error as err:
        sys.exit("evaluate: %s" % err)
