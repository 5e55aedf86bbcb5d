#!/usr/bin/env bash
# apf-eval runs unchanged on another folder and pairs file of the LFW layout:
# build a 4-identity folder with its own 1-fold pairs file, run a short
# evaluation, and check every output is there and well formed.
set -euo pipefail
exe=$1; models=$2; shared=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$shared/data/lfw/aligned112"
. "$(dirname "$0")/lfw_folder.sh"
make_lfw_folder "$work" "$src"
"$exe" --faces "$work/faces" --pairs "$work/pairs.txt" --fold 1 \
  --models "$models/mobilefacenet.apfm,$models/mobileface.apfm" --probe "$models/mobilefacenet.apfm" \
  --attacks fgsm,i-fgsm --iterations 2 --adv-adv i-fgsm --accessible --accessible-pairs 2 \
  --out "$work/out/nested" > "$work/stdout.txt" 2> "$work/stderr.txt"
fail() { echo "FAIL: $*"; exit 1; }
for f in table.md results.json examples.png ssim.csv ssim_hist.png; do
  [ -s "$work/out/nested/$f" ] || fail "missing $f"
done
grep -q "| mobilefacenet " "$work/out/nested/table.md" || fail "no mobilefacenet block"
grep -q "original accessible (2 pairs)" "$work/out/nested/table.md" || fail "no accessible row"
grep -q "adv-adv" "$work/out/nested/table.md" || fail "no Table 4"
[ "$(wc -l < "$work/out/nested/ssim.csv")" -eq 7 ] || fail "ssim.csv should have 2 attacks x 3 pairs + header"
/usr/bin/python3 - "$work/out/nested/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["positive_pairs"] == 3, r["positive_pairs"]
assert len(r["models"]) == 2
for m in r["models"]:
    for a in ("fgsm", "i-fgsm"):
        x = m["attacks"][a]
        assert -1 <= x["asr_apf_g"] <= 1 and -1 <= x["asr_jpeg"] <= 1
    assert "table4" in m
assert 0 < r["ssim"]["i-fgsm"]["min"] <= r["ssim"]["i-fgsm"]["mean"] < 1
PY
grep -q "faces/s" "$work/stderr.txt" || fail "no progress shown"
echo "1 passed, 0 failed"
