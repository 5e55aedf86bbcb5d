#!/usr/bin/env bash
# Refresh tests/data, the copy of the data the test suite needs, so that
# `meson test` passes on a clone with no ../shared beside it. Made from
# ../shared (an LFW-layout face folder and the TF.js golden vectors):
#   - reference/models: each model's run description (.json) and its input
#     and gradient tensors (.f32, gzip-compressed; the tests read NAME.f32
#     or NAME.f32.gz), without the per-layer fingerprints;
#   - reference/ssim: the SSIM golden pairs (PNG) and values;
#   - data/lfw/aligned112: the faces the suites and the program tests use
#     (4 validation identities x 2 photos, 8 training identities x 1);
#   - data/lfw/photos150: one unaligned photo.
# The photos are LFW's (research use, see ../shared/data/lfw/README.md).
# Usage: tools/make-test-data.sh [SHARED_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
out=tests/data
rm -rf "$out"
mkdir -p "$out/reference/models" "$out/reference/ssim" "$out/data/lfw/aligned112" "$out/data/lfw/photos150/Aaron_Eckhart"
for f in "$shared"/reference/models/*.json; do
  case "$f" in *.layers.*) continue ;; esac
  cp "$f" "$out/reference/models/"
done
for f in "$shared"/reference/models/*.f32; do
  gzip -9 -n -c "$f" > "$out/reference/models/$(basename "$f").gz"
done
cp "$shared"/reference/ssim/* "$out/reference/ssim/"
src=$shared/data/lfw/aligned112
. tests/lfw_folder.sh
for id in $VAL_IDS; do
  mkdir -p "$out/data/lfw/aligned112/$id"
  cp "$src/$id/${id}_0001.jpg" "$src/$id/${id}_0002.jpg" "$out/data/lfw/aligned112/$id/"
done
# the training identities tests/train_program.sh picks
for id in $(training_ids "$src"); do
  mkdir -p "$out/data/lfw/aligned112/$id" && cp "$src/$id/${id}_0001.jpg" "$out/data/lfw/aligned112/$id/"
done
cp "$shared/data/lfw/photos150/Aaron_Eckhart/Aaron_Eckhart_0001.jpg" "$out/data/lfw/photos150/Aaron_Eckhart/"
du -sh "$out"
