#!/bin/sh
# Whole-photo protection against the face's size in the photo: runs
# apf-bench-photos on fold 8's first N positive pairs with LFW's 150-pixel
# photos resampled by each scale (1: LFW's own, the face at 0.74 photo
# pixels per aligned pixel; 2: 1.48, as in most camera photos), and prints
# each run's protection table under its scale.
#
#   bench/photo_scales.sh [PAIRS] [SCALES...]      (default: 100 1 1.5 2 3)
#
# LD_LIBRARY_PATH=OTHER_BUILD/lib runs the same program against another
# build's libraries (before/after comparisons).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
pairs=${1:-100}
[ $# -gt 0 ] && shift
scales=${*:-1 1.5 2 3}
dir=$here/build/examples/apf
[ -x "$dir/apf-bench-photos" ] || dir=$here/build-dev/examples/apf
[ -x "$dir/apf-bench-photos" ] || { echo "build first: apf-bench-photos is missing" >&2; exit 2; }
cd "$here"
for s in $scales; do
    echo "== photo scale $s"
    "$dir/apf-bench-photos" --photo-scale "$s" --pairs "$pairs" --server-bin "$dir/apf-server" 2>/dev/null |
        sed -n '/^protection,/,/^bytes sent/p'
done
