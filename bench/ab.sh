#!/bin/sh
# A/B timing of two libapf builds on one noisy machine: alternates them
# round by round (so both see the same neighbours), running this build's
# apf-bench-fwd-bwd against each build's libraries, and prints every round
# and how many rounds each side won by its median.
#
#   bench/ab.sh BASE_LIBDIR NEW_LIBDIR [ROUNDS] [REPS] [MODEL.apfm]
#
# e.g. (a build of an older commit in /tmp/base-build):
#   bench/ab.sh /tmp/base-build/lib build/lib 10 80
set -eu
base=$1 new=$2 rounds=${3:-10} reps=${4:-80} model=${5:-models/mobilefacenet.apfm}
here=$(dirname "$0")
bin=$here/../build/bench/apf-bench-fwd-bwd
[ -x "$bin" ] || bin=$here/../build-dev/bench/apf-bench-fwd-bwd
[ -x "$bin" ] || { echo "build first: $bin is missing" >&2; exit 2; }
i=0
while [ "$i" -lt "$rounds" ]; do
    for side in base new; do
        if [ "$side" = base ]; then dir=$base; else dir=$new; fi
        printf '%s ' "$side"
        LD_LIBRARY_PATH=$dir "$bin" --reps "$reps" "$model"
    done
    i=$((i + 1))
done | awk '{print} $1 == "base" {bmin = $10; bmed = $14} $1 == "new" {
        if ($14 < bmed) won++; if (best_new == "" || $10 < best_new) best_new = $10
        if (best_base == "" || bmin < best_base) best_base = bmin; n++ }
    END {printf "new won %d of %d rounds by median; best min: base %s ms, new %s ms\n", won, n, best_base, best_new}'
