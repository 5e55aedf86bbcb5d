#!/usr/bin/env bash
# The example programs under valgrind memcheck: any invalid read/write, use
# of uninitialised memory or definite leak in our code fails (runtime
# libraries' process-lifetime allocations are suppressed in
# tests/valgrind.supp). Attacks run as FGSM (one pass): under memcheck
# oneDNN runs far slower (~20 s per forward+backward).
# Usage: valgrind.sh BUILD_DIR SOURCE_DIR MODELS_DIR
set -euo pipefail
build=$1 src=$2 models=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --suppressions="$src/tests/valgrind.supp" --num-callers=30)
export OMP_NUM_THREADS=1
# the programs re-execute themselves to set libgomp's spin count when it is
# unset (examples/wait_policy.h); under valgrind that would run the child
# outside memcheck, so it is set here
export GOMP_SPINCOUNT=100000
ex=$build/examples
face=$src/examples/faces/Ali_Naimi_0001.jpg
other=$src/examples/faces/Aleksander_Kwasniewski_0001.jpg
run() { echo "+ $*"; "${vg[@]}" "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out"; echo "FAIL: $1 under valgrind"; exit 1; }; }
run "$ex/split-device" gradient "$models/mobilefacenet.apfm" "$face" "$tmp/g.blob" fgsm
run "$ex/split-cloud" "$src/weights/transfer.apfm" "$tmp/g.blob" "$tmp/s.blob"
run "$ex/split-device" apply "$face" "$tmp/s.blob" "$tmp/p.png"
run "$ex/evaluate" "$face" "$tmp/p.png" "$other" "$models/mobilefacenet.apfm"
cp "$src/examples/photos/Abdel_Aziz_Al-Hakim_0001.jpg" "$tmp/photo.jpg"
# two probe models (the ensemble path) and no --weights (the identity
# cloud); the two big recognizers would only make valgrind slower
run "$ex/apf/apf" protect --models "$models" --probe mobilefacenet,mobileface:2 --attack fgsm --check probe \
  --out "$tmp/out-photos" "$tmp/photo.jpg"
[ -s "$tmp/out-photos/photo.protected.jpg" ] || { echo "FAIL: apf wrote nothing"; exit 1; }
echo "5 programs clean under valgrind; 1 passed, 0 failed"
