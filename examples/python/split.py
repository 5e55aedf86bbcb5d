#!/usr/bin/env python3
"""The APF split with the `apf` module: each half a separate command.

    split.py device-gradient PROBE.apfm FACE.jpg G.blob
    split.py cloud TRANSFER.apfm G.blob S.blob
    split.py device-apply FACE.jpg S.blob OUT.png

Only G.blob travels to the server and only S.blob back; the server side
never opens a photo."""
import sys

import apf


def write_new(path, data):
    with open(path, "xb") as f:  # x: never replace an existing file
        f.write(data)


def device_gradient(probe_path, face_path, g_path):
    with apf.Probe(probe_path) as probe:
        blob = probe.gradient_blob(apf.load_image(face_path))
    write_new(g_path, blob)
    print("device: %d bytes to send" % len(blob))


def cloud(transfer_path, g_path, s_path):
    with open(g_path, "rb") as f:
        g_blob = f.read(4 << 20)
    with apf.CloudFilter(transfer_path) as c:
        s_blob = c.filter(g_blob)
    write_new(s_path, s_blob)
    print("cloud: received %d bytes, returned %d" % (len(g_blob), len(s_blob)))


def device_apply(face_path, s_path, out_path):
    with open(s_path, "rb") as f:
        s = apf.decode_blob(f.read())
    if s.kind != apf.WIRE_NOISE:
        raise apf.Error(apf.E_INVALID, "%s is not a noise blob" % s_path)
    face = apf.load_image(face_path)
    apf.save_image(apf.apply_perturbation(face, s.values[0], 1.0), out_path)
    print("device: wrote %s" % out_path)


COMMANDS = {"device-gradient": device_gradient, "cloud": cloud, "device-apply": device_apply}

if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except (apf.Error, OSError) as err:
        sys.exit("split: %s" % err)
