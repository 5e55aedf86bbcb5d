#!/bin/sh
# A/B device time of two libapf builds: this build's apf-bench-probe (the
# shipped device list against the paper's DI2-FGSM, alternating face by
# face) run against each build's libraries in turns, so both see the same
# neighbours. Prints each run's ratio line.
#
#   bench/ab_probe.sh BASE_LIBDIR NEW_LIBDIR [ROUNDS]
#
# e.g. (a build of an older commit in /tmp/base-build):
#   bench/ab_probe.sh /tmp/base-build/lib build/lib 3
set -eu
base=$1 new=$2 rounds=${3:-3}
here=$(dirname "$0")
bin=$here/../build/bench/apf-bench-probe
[ -x "$bin" ] || bin=$here/../build-dev/bench/apf-bench-probe
[ -x "$bin" ] || { echo "build first: apf-bench-probe is missing" >&2; exit 2; }
i=0
while [ "$i" -lt "$rounds" ]; do
    for side in base new; do
        if [ "$side" = base ]; then dir=$base; else dir=$new; fi
        printf '%s: ' "$side"
        LD_LIBRARY_PATH=$dir "$bin" --ensembles-only --neighbours 0 --faces 8 | tail -1
    done
    i=$((i + 1))
done
