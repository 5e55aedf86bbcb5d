#!/usr/bin/env python3
"""Protect one aligned 112x112 face end to end with the `apf` module.

    protect_one.py PROBE.apfm TRANSFER.apfm FACE.jpg OUT.png

The probe computes the gradient blob (all that would leave the device), the
cloud filter returns the noise blob, and the face plus noise is saved
(never over an existing file)."""
import sys

import apf


def main(probe_path, transfer_path, face_path, out_path):
    face = apf.load_image(face_path)
    with apf.Probe(probe_path) as probe, apf.CloudFilter(transfer_path) as cloud:
        g_blob = probe.gradient_blob(face)
        s_blob = cloud.filter(g_blob)
    noise = apf.decode_blob(s_blob).values[0]
    protected = apf.apply_perturbation(face, noise, 1.0)
    apf.save_image(protected, out_path)
    with apf.Model(probe_path) as model:
        e = model.embed([face, protected])
    print("%s: sent %d bytes, received %d; SSIM %.3f; probe similarity %.3f"
          % (out_path, len(g_blob), len(s_blob), apf.ssim(face, protected), float(e[0] @ e[1])))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:])
    except apf.Error as err:
        sys.exit("protect_one: %s" % err)
