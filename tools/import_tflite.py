"""TFLite flatbuffer reader (only what face recognizers use), into the IR.

Flatbuffer layout, from the public schema (tensorflow/lite/schema/schema.fbs):
Model{version, operator_codes, subgraphs, description, buffers},
SubGraph{tensors, inputs, outputs, operators, name},
Tensor{shape, type, buffer, name, quantization}, Buffer{data},
Operator{opcode_index, inputs, outputs, builtin_options_type, builtin_options},
OperatorCode{deprecated_builtin_code, custom_code, version, builtin_code}.
"""
import struct

import numpy as np

from apfm import Graph, same_pads, INF


class FB:
    """Bounds-checked flatbuffer table access."""

    def __init__(self, buf):
        self.b = buf

    def u32(self, o):
        return struct.unpack_from("<I", self.b, o)[0]

    def table(self, pos):
        vt = pos - struct.unpack_from("<i", self.b, pos)[0]
        vlen = struct.unpack_from("<H", self.b, vt)[0]
        return pos, vt, vlen

    def field(self, t, idx):
        pos, vt, vlen = t
        if 4 + 2 * idx >= vlen:
            return None
        off = struct.unpack_from("<H", self.b, vt + 4 + 2 * idx)[0]
        return pos + off if off else None

    def scalar(self, t, idx, fmt, default=0):
        o = self.field(t, idx)
        return default if o is None else struct.unpack_from("<" + fmt, self.b, o)[0]

    def ref(self, t, idx):
        o = self.field(t, idx)
        return None if o is None else o + self.u32(o)

    def vector(self, t, idx):
        v = self.ref(t, idx)
        if v is None:
            return 0, 0
        return v + 4, self.u32(v)

    def tables(self, t, idx):
        start, n = self.vector(t, idx)
        return [self.table(start + 4 * k + self.u32(start + 4 * k)) for k in range(n)]

    def ints(self, t, idx):
        start, n = self.vector(t, idx)
        return list(struct.unpack_from("<%di" % n, self.b, start)) if n else []

    def string(self, t, idx):
        start, n = self.vector(t, idx)
        return bytes(self.b[start:start + n]).decode()


OPS = {0: "ADD", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 9: "FULLY_CONNECTED", 18: "MUL",
       22: "RESHAPE", 34: "PAD", 54: "PRELU", 19: "RELU", 21: "RELU6", 40: "MEAN", 41: "SUB",
       11: "L2_NORMALIZATION", 101: "ABS", 17: "MAX_POOL_2D", 1: "AVERAGE_POOL_2D", 6: "DEQUANTIZE"}
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32}


def load(path, input_hw=None):
    buf = open(path, "rb").read()
    fb = FB(buf)
    model = fb.table(fb.u32(0))
    codes = []
    for oc in fb.tables(model, 1):
        code = fb.scalar(oc, 3, "i", 0) or fb.scalar(oc, 0, "b", 0)
        codes.append(code)
    buffers = [fb.vector(b, 0) for b in fb.tables(model, 4)]
    sub = fb.tables(model, 2)[0]
    tensors = []
    for t in fb.tables(sub, 0):
        shape = fb.ints(t, 0)
        dtype = fb.scalar(t, 1, "b", 0)
        bidx = fb.scalar(t, 2, "I", 0)
        tensors.append(dict(shape=shape, dtype=dtype, buffer=bidx, name=fb.string(t, 3)))

    def const(ti):
        t = tensors[ti]
        start, n = buffers[t["buffer"]]
        if n == 0:
            return None
        dt = DTYPES[t["dtype"]]
        return np.frombuffer(buf, dt, n // np.dtype(dt).itemsize, start).reshape(t["shape"]).astype(np.float32)

    inputs = fb.ints(sub, 1)
    outputs = fb.ints(sub, 2)
    ishape = tensors[inputs[0]]["shape"]
    g = Graph(ishape[1], ishape[2], ishape[3])
    val = {inputs[0]: 0}
    consts = {}
    abs_of = {}
    for op in fb.tables(sub, 3):
        name = OPS.get(codes[fb.scalar(op, 0, "I", 0)], "?%d" % codes[fb.scalar(op, 0, "I", 0)])
        ins = fb.ints(op, 1)
        outs = fb.ints(op, 2)
        opt = fb.ref(op, 4)
        opt = fb.table(opt) if opt is not None else None

        def arg(k):
            i = ins[k]
            if i in val:
                return ("t", val[i])
            if i not in consts:
                consts[i] = const(i)
            return ("c", consts[i])

        def act(node, code):
            if code == 1:
                return g.clip(node, 0.0, INF)
            if code == 3:
                return g.clip(node, 0.0, 6.0)
            assert code == 0, "fused activation %d" % code
            return node

        tname = tensors[outs[0]]["name"]
        if name == "ABS":
            # Only the PReLU spelling relu(x) + c*(x - |x|) uses it; see SUB.
            abs_of[outs[0]] = ins[0]
            continue
        if name == "SUB" and len(ins) == 2 and abs_of.get(ins[1]) == ins[0]:
            # x - |x| == 2*min(x, 0)
            node = g.scale_shift(g.clip(val[ins[0]], -INF, 0.0), 2.0, 0.0, name=tname)
            val[outs[0]] = node
            continue
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            x = arg(0)[1]
            w = arg(1)[1]
            b = arg(2)[1] if len(ins) > 2 and ins[2] >= 0 else None
            dw = name == "DEPTHWISE_CONV_2D"
            padding = fb.scalar(opt, 0, "b", 0)
            sw = fb.scalar(opt, 1, "i", 1)
            sh = fb.scalar(opt, 2, "i", 1)
            a = fb.scalar(opt, 4 if dw else 3, "b", 0)
            if dw:  # [1, KH, KW, C*M] -> [C, KH, KW, 1]
                assert w.shape[0] == 1
                w = np.transpose(w, (3, 1, 2, 0))
                groups = g.shape(x)[2]
            else:
                groups = 1
            if padding == 0:
                node = g.conv_same(x, w, b, (sh, sw), groups, name=tname)
            else:
                node = g.conv(x, w, b, (sh, sw), (0, 0, 0, 0), groups, name=tname)
            node = act(node, a)
        elif name == "PRELU":
            node = g.prelu(arg(0)[1], arg(1)[1], name=tname)
        elif name in ("ADD", "MUL", "SUB"):
            a0, a1 = arg(0), arg(1)
            code = fb.scalar(opt, 0, "b", 0) if opt else 0
            if a0[0] == "c":
                a0, a1 = a1, a0
                assert name != "SUB"
            if a1[0] == "t":
                assert name == "ADD", "tensor-tensor %s" % name
                node = g.addn(a0[1], a1[1], name=tname)
            elif name == "ADD":
                node = g.scale_shift(a0[1], 1.0, a1[1], name=tname)
            elif name == "SUB":
                node = g.scale_shift(a0[1], 1.0, -a1[1], name=tname)
            else:
                node = g.scale_shift(a0[1], a1[1], 0.0, name=tname)
            node = act(node, code)
        elif name == "RESHAPE":
            node = arg(0)[1]  # NHWC flatten order is the buffer order
        elif name == "FULLY_CONNECTED":
            x = arg(0)[1]
            w = arg(1)[1]
            b = arg(2)[1] if len(ins) > 2 and ins[2] >= 0 else None
            node = act(g.fc(x, w, b, name=tname), fb.scalar(opt, 0, "b", 0) if opt else 0)
        elif name == "RELU":
            node = g.clip(arg(0)[1], 0.0, INF, name=tname)
        elif name == "RELU6":
            node = g.clip(arg(0)[1], 0.0, 6.0, name=tname)
        elif name == "L2_NORMALIZATION":
            node = arg(0)[1]  # the library normalises embeddings itself
        else:
            raise SystemExit("tflite: unsupported op %s (%s)" % (name, tname))
        val[outs[0]] = node
    out = g.simplify(val[outputs[0]])
    return g, out
