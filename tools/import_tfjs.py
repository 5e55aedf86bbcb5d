"""TF.js graph-model reader (model.json + shards), into the IR.

Ops are mapped one by one to generic IR nodes; Graph.simplify then folds the
batch-norm arithmetic, clip chains and PReLU spellings.
"""
import base64
import json
import os

import numpy as np

from apfm import Graph, same_pads, INF


def load_weights(mdir, manifest):
    out = {}
    for group in manifest:
        data = b"".join(open(os.path.join(mdir, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = w["shape"]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q and q["dtype"] == "float16":
                a = np.frombuffer(data, "<f2", n, off).astype(np.float32)
                off += 2 * n
            elif q and q["dtype"] == "uint8":
                a = np.frombuffer(data, np.uint8, n, off).astype(np.float32) * q["scale"] + q["min"]
                off += n
            elif w["dtype"] == "int32":
                a = np.frombuffer(data, "<i4", n, off).astype(np.float32)
                off += 4 * n
            else:
                a = np.frombuffer(data, "<f4", n, off).astype(np.float32)
                off += 4 * n
            out[w["name"]] = a.reshape(shape)
    return out


def attr_ints(n, k):
    return [int(v) for v in n["attr"][k]["list"]["i"]]


def attr_str(n, k):
    return base64.b64decode(n["attr"][k]["s"]).decode()


def load(json_path, output, input_hw):
    m = json.load(open(json_path))
    weights = load_weights(os.path.dirname(json_path), m["weightsManifest"])
    nodes = m["modelTopology"]["node"]
    g = Graph(input_hw[0], input_hw[1], 3)
    val = {}
    skipped = set()
    for n in nodes:
        op, name = n["op"], n["name"]
        ins = [i.split(":")[0] for i in n.get("input", []) if not i.startswith("^")]

        def arg(k):
            i = ins[k]
            if i in val:
                return val[i]
            return ("c", weights[i])

        if op == "Const":
            val[name] = ("c", weights[name])
            continue
        if op == "Placeholder":
            val[name] = ("t", 0)
            continue
        if any(i in skipped for i in ins):
            skipped.add(name)  # downstream of a head we never keep
            continue
        args = [arg(k) for k in range(len(ins))]
        if any(a[0] == "t" for a in args) is False:
            raise SystemExit("tfjs: op %s on constants only (%s)" % (op, name))
        if op in ("Conv2D", "DepthwiseConv2dNative", "_FusedConv2D"):
            x = args[0][1]
            w = args[1][1]  # [KH, KW, I, O] or [KH, KW, C, M]
            if op == "DepthwiseConv2dNative":
                assert w.shape[3] == 1
                w = np.transpose(w, (2, 0, 1, 3))
                groups = g.shape(x)[2]
            else:
                w = np.transpose(w, (3, 0, 1, 2))
                groups = 1
            st = attr_ints(n, "strides")
            dil = attr_ints(n, "dilations") if "dilations" in n.get("attr", {}) else [1, 1, 1, 1]
            assert dil == [1, 1, 1, 1]
            pad = attr_str(n, "padding")
            b = None
            if op == "_FusedConv2D":
                fused = [base64.b64decode(s).decode() for s in n["attr"]["fused_ops"]["list"]["s"]]
                if "BiasAdd" in fused:
                    b = args[2][1]
            if pad == "SAME":
                node = g.conv_same(x, w, b, (st[1], st[2]), groups, name=name)
            else:
                node = g.conv(x, w, b, (st[1], st[2]), (0, 0, 0, 0), groups, name=name)
            if op == "_FusedConv2D":
                for f in fused:
                    if f == "Relu":
                        node = g.clip(node, 0.0, INF)
                    elif f == "Relu6":
                        node = g.clip(node, 0.0, 6.0)
                    elif f == "Prelu":
                        node = g.prelu(node, args[3][1])
                    else:
                        assert f == "BiasAdd", f
            val[name] = ("t", node)
        elif op in ("Add", "AddV2", "BiasAdd", "Mul", "Sub"):
            a0, a1 = args
            if a0[0] == "c":
                assert op != "Sub"
                a0, a1 = a1, a0
            if a1[0] == "t":
                assert op in ("Add", "AddV2"), op
                node = g.addn(a0[1], a1[1], name=name)
            elif op == "Mul":
                node = g.scale_shift(a0[1], a1[1], 0.0, name=name)
            elif op == "Sub":
                node = g.scale_shift(a0[1], 1.0, -a1[1], name=name)
            else:
                node = g.scale_shift(a0[1], 1.0, a1[1], name=name)
            val[name] = ("t", node)
        elif op == "Relu":
            val[name] = ("t", g.clip(args[0][1], 0.0, INF, name=name))
        elif op == "Relu6":
            val[name] = ("t", g.clip(args[0][1], 0.0, 6.0, name=name))
        elif op == "Prelu":
            val[name] = ("t", g.prelu(args[0][1], args[1][1]))
        elif op in ("Minimum", "Maximum"):
            t = [a for a in args if a[0] == "t"]
            c = [a for a in args if a[0] == "c"]
            assert len(t) == 1 and len(c) == 1 and c[0][1].size == 1, name
            v = float(c[0][1].reshape(-1)[0])
            lo, hi = (-INF, v) if op == "Minimum" else (v, INF)
            val[name] = ("t", g.clip(t[0][1], lo, hi, name=name))
        elif op == "Pad":
            p = args[1][1].astype(int)
            assert p[0].tolist() == [0, 0] and p[3][0] == 0, p
            val[name] = ("t", g.pad(args[0][1], p[1][0], p[1][1], p[2][0], p[2][1], int(p[3][1]), name=name))
        elif op == "Mean":
            axes = sorted(args[1][1].astype(int).reshape(-1).tolist())
            assert axes == [1, 2]
            val[name] = ("t", g.gap(args[0][1], name=name))
        elif op in ("Reshape", "Identity"):
            val[name] = args[0]
        elif op in ("MatMul", "_FusedMatMul"):
            assert not n["attr"].get("transpose_a", {}).get("b") and not n["attr"].get("transpose_b", {}).get("b")
            w = args[1][1].T
            b = None
            fused = []
            if op == "_FusedMatMul":
                fused = [base64.b64decode(s).decode() for s in n["attr"]["fused_ops"]["list"]["s"]]
                if "BiasAdd" in fused:
                    b = args[2][1]
            node = g.fc(args[0][1], w, b, name=name)
            if "Relu" in fused:
                node = g.clip(node, 0.0, INF)
            val[name] = ("t", node)
        elif op == "MaxPool":
            k = attr_ints(n, "ksize")
            s = attr_ints(n, "strides")
            h, w_, _ = g.shape(args[0][1])
            if attr_str(n, "padding") == "SAME":
                pt, pb, _ = same_pads(h, k[1], s[1])
                pl, pr, _ = same_pads(w_, k[2], s[2])
            else:
                pt = pb = pl = pr = 0
            val[name] = ("t", g.pool("MAXPOOL", args[0][1], k[1:3], s[1:3], (pt, pb, pl, pr), name=name))
        elif op in ("Sigmoid", "Softmax"):
            skipped.add(name)  # classifier heads we never keep: their logits are the output
            continue
        else:
            raise SystemExit("tfjs: unsupported op %s (%s)" % (op, name))
        if op not in ("Reshape", "Identity") and val[name][0] == "t":
            g.nodes[val[name][1]].name = name
    names = output.split(",")
    outs = [val[o][1] for o in names]
    outs = g.prune(outs)
    outs = g.simplify(outs)
    return g, (outs if len(names) > 1 else outs[0])
