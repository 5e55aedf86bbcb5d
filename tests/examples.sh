#!/usr/bin/env bash
# Runs one language's examples (examples/c, examples/python, examples/go)
# on a sample face and checks what they print and write: the end-to-end
# program, the two halves of the split talking through files, and the
# evaluator. Usage: examples.sh c|python|go BIN_DIR MODELS_DIR SOURCE_DIR
# (BIN_DIR: the built C or Go programs; ignored for python).
set -euo pipefail
lang=$1 bin=$2 models=$3 src=$4
case $lang in
  c)
    protect_one() { "$bin/protect-one" "$@"; }
    device_gradient() { "$bin/split-device" gradient "$@"; }
    cloud() { "$bin/split-cloud" "$@"; }
    device_apply() { "$bin/split-device" apply "$@"; }
    evaluate() { "$bin/evaluate" "$@"; } ;;
  python)
    ex=$src/examples/python
    protect_one() { /usr/bin/python3 "$ex/protect_one.py" "$@"; }
    device_gradient() { /usr/bin/python3 "$ex/split.py" device-gradient "$@"; }
    cloud() { /usr/bin/python3 "$ex/split.py" cloud "$@"; }
    device_apply() { /usr/bin/python3 "$ex/split.py" device-apply "$@"; }
    evaluate() { /usr/bin/python3 "$ex/evaluate.py" "$@"; } ;;
  go)
    protect_one() { "$bin/protect-one" "$@"; }
    device_gradient() { "$bin/split" device-gradient "$@"; }
    cloud() { "$bin/split" cloud "$@"; }
    device_apply() { "$bin/split" device-apply "$@"; }
    evaluate() { "$bin/evaluate" "$@"; } ;;
  *) echo "unknown language $lang"; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
face=$src/examples/faces/Aleksander_Kwasniewski_0001.jpg
other=$src/examples/faces/Aleksander_Kwasniewski_0002.jpg

out=$(protect_one "$models/mobilefacenet.apfm" "$src/weights/transfer.apfm" "$face" "$tmp/one.png")
echo "$out"
[ -s "$tmp/one.png" ] || fail "protect-one wrote nothing"
sim=$(sed -n 's/.*probe similarity \([-0-9.]*\).*/\1/p' <<<"$out")
awk -v s="$sim" 'BEGIN { exit !(s < 0.9) }' || fail "probe similarity $sim not lowered"
protect_one "$models/mobilefacenet.apfm" "$src/weights/transfer.apfm" "$face" "$tmp/one.png" \
  && fail "$lang protect-one overwrote its output"

device_gradient "$models/mobilefacenet.apfm" "$face" "$tmp/g.blob"
cloud "$src/weights/transfer.apfm" "$tmp/g.blob" "$tmp/s.blob"
device_apply "$face" "$tmp/s.blob" "$tmp/split.png"
[ -s "$tmp/split.png" ] || fail "split wrote nothing"
# The cloud refuses a hostile payload and the device a wrong-kind blob.
head -c 60 "$tmp/g.blob" > "$tmp/bad.blob"
cloud "$src/weights/transfer.apfm" "$tmp/bad.blob" "$tmp/s2.blob" 2>"$tmp/err" \
  && fail "split-cloud accepted a truncated blob"
[ -s "$tmp/err" ] || fail "no message for a truncated blob"
device_apply "$face" "$tmp/g.blob" "$tmp/wrong.png" 2>/dev/null \
  && fail "split-device applied a gradient blob as noise"
[ ! -e "$tmp/wrong.png" ] || fail "output left after a refused blob"

out=$(evaluate "$face" "$tmp/split.png" "$other" "$models/mobilefacenet.apfm" "$models/mobileface.apfm")
echo "$out"
ssim=$(awk '/^SSIM/ {print $2}' <<<"$out")
awk -v s="$ssim" 'BEGIN { exit !(s > 0.7 && s < 1) }' || fail "SSIM $ssim"
# The probe (white-box) must match the genuine pair less after protection.
awk '$1 ~ /mobilefacenet|MobileFaceNet/ { found = 1; if (!($3 < $2)) exit 1 } END { exit !found }' <<<"$out" \
  || fail "protection did not lower the probe's genuine-pair similarity"
echo "1 passed, 0 failed"
