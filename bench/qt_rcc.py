#!/usr/bin/env python3
"""qt_rcc: extract the files of a Qt binary resource bundle (.rcc).

  qt_rcc.py OUT_DIR FILE.rcc... [--match=SUFFIX,...]

Used by bench/face_check_photos.sh to reach the animal photos GCompris
ships inside its .rcc bundles. The format (Qt's rcc, versions 1-3): a
'qres' header with the offsets of the tree, the data and the names; tree
entries of 14 bytes (version 1) or 22 (with a modification time); a
directory entry holds its child count and first child, a file entry the
offset of its data (a 4-byte length, then the bytes; flag 1: zlib behind
a 4-byte length, flag 4: zstd)."""
import os
import struct
import sys
import zlib

DIRECTORY, COMPRESSED, COMPRESSED_ZSTD = 2, 1, 4


def extract(path, out_dir, keep):
    d = open(path, "rb").read()
    if d[:4] != b"qres":
        raise SystemExit("%s: not a Qt resource bundle" % path)
    version, tree, data, names = struct.unpack(">IIII", d[4:20])
    entry = 14 if version == 1 else 22

    def name(off):
        n = struct.unpack(">H", d[names + off:names + off + 2])[0]
        return d[names + off + 6:names + off + 6 + 2 * n].decode("utf-16-be")

    written = []

    def walk(i, prefix):
        e = tree + i * entry
        name_off, flags = struct.unpack(">IH", d[e:e + 6])
        here = prefix + (name(name_off) if i else "")
        if flags & DIRECTORY:
            count, first = struct.unpack(">II", d[e + 6:e + 14])
            for c in range(count):
                walk(first + c, here + "/")
            return
        if not keep(here):
            return
        off = data + struct.unpack(">I", d[e + 10:e + 14])[0]
        size = struct.unpack(">I", d[off:off + 4])[0]
        blob = d[off + 4:off + 4 + size]
        if flags & COMPRESSED:
            blob = zlib.decompress(blob[4:])
        elif flags & COMPRESSED_ZSTD:
            raise SystemExit("%s: %s is zstd-compressed (not supported)" % (path, here))
        dst = os.path.join(out_dir, here.strip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(blob)
        written.append(dst)

    walk(0, "")
    return written


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--match")]
    match = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--match=")]
    suffixes = tuple(s for m in match for s in m.split(",")) or ("",)
    if len(args) < 2:
        raise SystemExit(__doc__)
    for f in args[1:]:
        for p in extract(f, args[0], lambda n: n.lower().endswith(suffixes)):
            print(p)


if __name__ == "__main__":
    main()
