"""Model IR and .apfm writer shared by the importers.

The IR is a list of nodes in topological order. Node 0 is the input. Each node
has an op, up to two input node indices, integer and float attributes and up
to two float32 tensors. The op set and the binary layout are documented in
docs/model-format.md and must stay in step with lib/core/model_format.h.
"""
import struct
import zlib

import numpy as np

OP = dict(INPUT=0, CONV=1, PRELU=2, CLIP=3, ADD=4, MAXPOOL=5, AVGPOOL=6,
          GAP=7, FC=8, PAD=9, SCALE_SHIFT=10)
INF = float("inf")


class Node:
    def __init__(self, op, inputs, shape, i=None, f=None, t=None, name=""):
        self.op = op
        self.inputs = list(inputs)
        self.shape = tuple(shape)  # (H, W, C) of the output
        self.i = dict(i or {})
        self.f = dict(f or {})
        self.t = list(t or [])
        self.name = name


def same_pads(size, k, s, d=1):
    """TF 'SAME' padding: (before, after, out) for one spatial axis."""
    keff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + keff - size, 0)
    return total // 2, total - total // 2, out


class Graph:
    def __init__(self, h, w, c):
        self.nodes = [Node("INPUT", [], (h, w, c), name="input")]

    def add(self, node):
        self.nodes.append(node)
        return len(self.nodes) - 1

    def shape(self, idx):
        return self.nodes[idx].shape

    # ---- builders -------------------------------------------------------
    def conv(self, x, w_ohwi, bias, stride, pads, groups, dil=(1, 1), name=""):
        h, w, c = self.shape(x)
        o, kh, kw, ig = w_ohwi.shape
        assert ig * groups == c, (name, w_ohwi.shape, groups, c)
        pt, pb, pl, pr = pads
        oh = (h + pt + pb - ((kh - 1) * dil[0] + 1)) // stride[0] + 1
        ow = (w + pl + pr - ((kw - 1) * dil[1] + 1)) // stride[1] + 1
        if bias is None:
            bias = np.zeros(o, np.float32)
        return self.add(Node("CONV", [x], (oh, ow, o),
                             i=dict(kh=kh, kw=kw, sh=stride[0], sw=stride[1],
                                    pt=pt, pb=pb, pl=pl, pr=pr, groups=groups,
                                    dh=dil[0], dw=dil[1], cout=o),
                             t=[w_ohwi.astype(np.float32), bias.astype(np.float32)],
                             name=name))

    def conv_same(self, x, w_ohwi, bias, stride, groups, name=""):
        h, w, _ = self.shape(x)
        pt, pb, _ = same_pads(h, w_ohwi.shape[1], stride[0])
        pl, pr, _ = same_pads(w, w_ohwi.shape[2], stride[1])
        return self.conv(x, w_ohwi, bias, stride, (pt, pb, pl, pr), groups, name=name)

    def clip(self, x, lo, hi, name=""):
        return self.add(Node("CLIP", [x], self.shape(x), f=dict(lo=lo, hi=hi), name=name))

    def prelu(self, x, slope, name=""):
        c = self.shape(x)[2]
        slope = np.broadcast_to(np.asarray(slope, np.float32).reshape(-1), (c,)).copy()
        return self.add(Node("PRELU", [x], self.shape(x), t=[slope], name=name))

    def scale_shift(self, x, a, b, name=""):
        c = self.shape(x)[2]
        a = np.broadcast_to(np.asarray(a, np.float32).reshape(-1), (c,)).copy()
        b = np.broadcast_to(np.asarray(b, np.float32).reshape(-1), (c,)).copy()
        return self.add(Node("SCALE_SHIFT", [x], self.shape(x), t=[a, b], name=name))

    def addn(self, a, b, name=""):
        assert self.shape(a) == self.shape(b), (name, self.shape(a), self.shape(b))
        return self.add(Node("ADD", [a, b], self.shape(a), name=name))

    def pool(self, op, x, k, s, pads=(0, 0, 0, 0), name=""):
        h, w, c = self.shape(x)
        pt, pb, pl, pr = pads
        oh = (h + pt + pb - k[0]) // s[0] + 1
        ow = (w + pl + pr - k[1]) // s[1] + 1
        return self.add(Node(op, [x], (oh, ow, c),
                             i=dict(kh=k[0], kw=k[1], sh=s[0], sw=s[1],
                                    pt=pt, pb=pb, pl=pl, pr=pr), name=name))

    def gap(self, x, name=""):
        return self.add(Node("GAP", [x], (1, 1, self.shape(x)[2]), name=name))

    def fc(self, x, w_oi, bias, name=""):
        h, w, c = self.shape(x)
        o, i = w_oi.shape
        assert i == h * w * c, (name, w_oi.shape, self.shape(x))
        if bias is None:
            bias = np.zeros(o, np.float32)
        return self.add(Node("FC", [x], (1, 1, o), i=dict(cout=o),
                             t=[w_oi.astype(np.float32), bias.astype(np.float32)], name=name))

    def pad(self, x, pt, pb, pl, pr, cpad=0, name=""):
        h, w, c = self.shape(x)
        return self.add(Node("PAD", [x], (h + pt + pb, w + pl + pr, c + cpad),
                             i=dict(pt=pt, pb=pb, pl=pl, pr=pr, cpad=cpad), name=name))

    # ---- passes ---------------------------------------------------------
    def consumers(self):
        cons = {i: [] for i in range(len(self.nodes))}
        for j, n in enumerate(self.nodes):
            for i in n.inputs:
                cons[i].append(j)
        return cons

    def prune(self, out):
        """Keep only nodes the output(s) depend on; renumber. `out` is a node
        index or a list of them; returns the same shape, renumbered."""
        outs = out if isinstance(out, list) else [out]
        keep = set()
        stack = list(outs)
        while stack:
            k = stack.pop()
            if k in keep:
                continue
            keep.add(k)
            stack.extend(self.nodes[k].inputs)
        keep.add(0)
        order = sorted(keep)
        remap = {old: new for new, old in enumerate(order)}
        nodes = []
        for old in order:
            n = self.nodes[old]
            n.inputs = [remap[i] for i in n.inputs]
            nodes.append(n)
        self.nodes = nodes
        return [remap[o] for o in outs] if isinstance(out, list) else remap[out]

    def _bypass(self, victim, replacement):
        for n in self.nodes:
            n.inputs = [replacement if i == victim else i for i in n.inputs]

    def simplify(self, out):
        """Fold affine ops into convs/FCs, merge clips, fold zero pads into convs,
        recognise PReLU spelled as max(x,0) + a*min(x,0). Returns the new
        output index (or list of them)."""
        if isinstance(out, list):
            self.outs = list(out)
        else:
            self.outs = [out]
        changed = True
        while changed:
            changed = False
            cons = self.consumers()
            for j, n in enumerate(self.nodes):
                if j == 0 or not n.inputs:
                    continue
                p = n.inputs[0]
                pn = self.nodes[p]
                single = len(cons[p]) == 1 and p not in self.outs
                # conv/fc followed by per-channel affine: fold
                if n.op == "SCALE_SHIFT" and pn.op in ("CONV", "FC") and single:
                    a, b = n.t
                    w, bias = pn.t
                    pn.t = [w * a.reshape((-1,) + (1,) * (w.ndim - 1)), bias * a + b]
                    self._bypass(j, p)
                    self.outs = [p if o == j else o for o in self.outs]
                    changed = True
                    break
                if n.op == "SCALE_SHIFT" and pn.op == "SCALE_SHIFT" and single:
                    a1, b1 = pn.t
                    a2, b2 = n.t
                    pn.t = [a1 * a2, b1 * a2 + b2]
                    self._bypass(j, p)
                    self.outs = [p if o == j else o for o in self.outs]
                    changed = True
                    break
                if n.op == "CLIP" and pn.op == "CLIP" and single:
                    pn.f = dict(lo=max(pn.f["lo"], n.f["lo"]), hi=min(pn.f["hi"], n.f["hi"]))
                    self._bypass(j, p)
                    self.outs = [p if o == j else o for o in self.outs]
                    changed = True
                    break
                if (n.op == "CONV" and pn.op == "PAD" and single and pn.i["cpad"] == 0):
                    for k in ("pt", "pb", "pl", "pr"):
                        n.i[k] += pn.i[k]
                    n.inputs = [pn.inputs[0]]
                    changed = True
                    break
                if n.op == "ADD":
                    pr_ = self._match_prelu(n, cons)
                    if pr_ is not None:
                        x, slope = pr_
                        n.op = "PRELU"
                        n.inputs = [x]
                        n.t = [slope]
                        changed = True
                        break
            if changed:
                self.outs = self.prune(self.outs)
        return self.outs if isinstance(out, list) else self.outs[0]

    def _match_prelu(self, n, cons):
        """max(x,0) + a*min(x,0)  ->  PReLU(x, a)."""
        a_i, b_i = n.inputs
        for pos_i, neg_i in ((a_i, b_i), (b_i, a_i)):
            pos, neg = self.nodes[pos_i], self.nodes[neg_i]
            if not (pos.op == "CLIP" and pos.f["lo"] == 0 and pos.f["hi"] == INF):
                continue
            if neg.op != "SCALE_SHIFT" or np.any(neg.t[1] != 0):
                continue
            mn = self.nodes[neg.inputs[0]]
            if not (mn.op == "CLIP" and mn.f["lo"] == -INF and mn.f["hi"] == 0):
                continue
            if mn.inputs[0] != pos.inputs[0]:
                continue
            return pos.inputs[0], neg.t[0]
        return None


ATTR_I = ["kh", "kw", "sh", "sw", "pt", "pb", "pl", "pr", "groups", "dh", "dw", "cout", "cpad"]
ATTR_F = ["lo", "hi"]
HEADER = struct.Struct("<4sHHIIIIII3f3fIIQQII8x")
assert HEADER.size == 96


def write_apfm(path, graph, out, name, channel_order, mean, scale, flags=1):
    """out: the embedding node, or a list of output nodes (a detector: flags bit 1)."""
    outs = graph.prune(out if isinstance(out, list) else [out])
    if not isinstance(out, list) or len(out) == 1:
        assert outs == [len(graph.nodes) - 1], outs
    payload = bytearray()
    nb = name.encode()
    payload += struct.pack("<I", len(nb)) + nb
    for n in graph.nodes:
        ins = n.inputs + [-1] * (2 - len(n.inputs))
        iat = [int(n.i.get(k, 0)) for k in ATTR_I] + [0] * (16 - len(ATTR_I))
        fat = []
        for k in ATTR_F:
            v = float(n.f.get(k, 0.0))
            fat.append(3.0e38 if v == INF else (-3.0e38 if v == -INF else v))
        fat += [0.0] * (4 - len(fat))
        payload += struct.pack("<Iii16i4f3I", OP[n.op], ins[0], ins[1], *iat, *fat,
                               n.shape[0], n.shape[1], n.shape[2])
        payload += struct.pack("<I", len(n.t))
        for t in n.t:
            a = np.ascontiguousarray(t, dtype="<f4").reshape(-1)
            payload += struct.pack("<I", a.size) + a.tobytes()
    payload += struct.pack("<I", len(outs)) + struct.pack("<%di" % len(outs), *outs)
    raw = bytes(payload)
    comp = zlib.compress(raw, 9)
    h, w, c = graph.nodes[0].shape
    embed = graph.nodes[-1].shape[2] if len(outs) == 1 else 0
    head = HEADER.pack(b"APFM", 1, 0, HEADER.size, len(graph.nodes), h, w, c,
                       channel_order, *mean, *scale, embed, flags,
                       len(raw), len(comp), zlib.crc32(raw), 0)
    hcrc = zlib.crc32(head[:84])
    head = head[:84] + struct.pack("<I", hcrc) + head[88:]
    with open(path + ".tmp", "wb") as f:
        f.write(head + comp)
    import os
    os.replace(path + ".tmp", path)
    return len(graph.nodes)
