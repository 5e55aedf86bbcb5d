#!/usr/bin/env bash
# Peak memory of `apf protect` on a phone-size photo: a 6000x4000 (24 MP)
# JPEG holding 30 LFW faces (photos150/, each scaled up 5x into a 750-pixel
# tile on grey), and on a small PNG that declares 16000x16000 pixels.
# Prints the peak resident set size (GNU time's "Maximum resident set size").
#   bench/memory.sh [LFW_DIR] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
lfw=${1:-${APF_LFW:-../shared/data/lfw}}
build=${2:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PYTHONPATH=$build/bindings/python /usr/bin/python3 - "$lfw" "$tmp/crowd.jpg" "$tmp/huge.png" <<'PY'
import os, struct, sys, zlib
import numpy as np
import apf
lfw, out, huge = sys.argv[1:4]
names = sorted(os.listdir(os.path.join(lfw, "photos150")))[:30]
canvas = np.full((4000, 6000, 3), 128, np.uint8)
for k, name in enumerate(names):
    d = os.path.join(lfw, "photos150", name)
    photo = apf.load_image(os.path.join(d, sorted(os.listdir(d))[0]))
    tile = photo.repeat(5, axis=0).repeat(5, axis=1)[:750, :750]
    y, x = 800 * (k // 8) + 25, 750 * (k % 8)
    canvas[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
apf.save_image(canvas, out, 90)
# a PNG whose header declares 16000 x 16000 RGB and whose data is tiny
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
with open(huge, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16000, 16000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
PY
run() {
  rm -rf "$tmp/out"
  /usr/bin/time -v "$build/examples/apf/apf" protect --threads 2 --out "$tmp/out" "$@" \
    > "$tmp/log" 2> "$tmp/time" || true
  grep -E "faces found|failed|pixel" "$tmp/log" "$tmp/time" | grep -v "Exit status" | sed 's/^[^:]*: *//' | head -2
  awk -F': ' '/Maximum resident set size/ { printf "peak RSS: %.0f MB\n", $2 / 1024 }' "$tmp/time"
}
echo "== 6000x4000 JPEG, 30 faces, self-check by the four recognizers (the default)"
run "$tmp/crowd.jpg"
echo "== the same, --check none"
run --check none "$tmp/crowd.jpg"
echo "== PNG declaring 16000x16000"
run "$tmp/huge.png"
