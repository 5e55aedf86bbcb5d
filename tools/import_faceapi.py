"""face-api.js FaceRecognitionNet (dlib ResNet-34) into the IR.

The network has no graph file: its layout is code in face-api.js
(src/faceRecognitionNet). We rebuild it here from that description:
conv -> +bias -> *scale+shift [-> relu]; residual blocks; 'down' blocks add an
avg-pooled, zero-channel-padded shortcut; mean over space; matmul 256->128.
"""
import os

import numpy as np

from apfm import Graph, INF
from import_tfjs import load_weights
import json


def load(manifest_path):
    mdir = os.path.dirname(manifest_path)
    W = load_weights(mdir, json.load(open(manifest_path)))
    g = Graph(150, 150, 3)

    def conv_layer(x, p, stride, relu, valid):
        w = np.transpose(W[p + "/conv/filters"], (3, 0, 1, 2))
        b = W[p + "/conv/bias"]
        s, sb = W[p + "/scale/weights"], W[p + "/scale/biases"]
        w = w * s.reshape(-1, 1, 1, 1)
        b = b * s + sb
        if valid:
            node = g.conv(x, w, b, (stride, stride), (0, 0, 0, 0), 1, name=p)
        else:
            node = g.conv_same(x, w, b, (stride, stride), 1, name=p)
        return g.clip(node, 0.0, INF) if relu else node

    def residual(x, p):
        o = conv_layer(x, p + "/conv1", 1, True, False)
        o = conv_layer(o, p + "/conv2", 1, False, False)
        return g.clip(g.addn(o, x), 0.0, INF, name=p)

    def residual_down(x, p):
        o = conv_layer(x, p + "/conv1", 2, True, True)
        o = conv_layer(o, p + "/conv2", 1, False, False)
        pooled = g.pool("AVGPOOL", x, (2, 2), (2, 2), name=p + "/pool")
        ph, pw, pc = g.shape(pooled)
        oh, ow, oc = g.shape(o)
        if (ph, pw) != (oh, ow):
            o = g.pad(o, 0, ph - oh, 0, pw - ow, 0, name=p + "/padhw")
        if pc != oc:
            pooled = g.pad(pooled, 0, 0, 0, 0, oc - pc, name=p + "/padc")
        return g.clip(g.addn(pooled, o), 0.0, INF, name=p)

    # face-api normalises inside the network: (x - meanRgb) / 255
    mean = np.array([122.782, 117.001, 104.298], np.float32)
    x = g.scale_shift(0, 1.0 / 255.0, -mean / 255.0, name="normalize")
    x = conv_layer(x, "conv32_down", 2, True, True)
    x = g.pool("MAXPOOL", x, (3, 3), (2, 2), name="pool")
    for p in ("conv32_1", "conv32_2", "conv32_3"):
        x = residual(x, p)
    x = residual_down(x, "conv64_down")
    for p in ("conv64_1", "conv64_2", "conv64_3"):
        x = residual(x, p)
    x = residual_down(x, "conv128_down")
    for p in ("conv128_1", "conv128_2"):
        x = residual(x, p)
    x = residual_down(x, "conv256_down")
    for p in ("conv256_1", "conv256_2"):
        x = residual(x, p)
    x = residual_down(x, "conv256_down_out")
    x = g.gap(x, name="mean")
    x = g.fc(x, W["fc"].T, None, name="fc")
    out = g.simplify(x)
    return g, out
