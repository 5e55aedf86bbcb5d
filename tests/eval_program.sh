#!/usr/bin/env bash
# apf-eval runs unchanged on another folder and pairs file of the LFW layout:
# build a 4-identity folder with its own 1-fold pairs file, run a short
# evaluation, and check every output is there, well formed and consistent
# pair by pair; then the command-line conventions.
set -euo pipefail
exe=$(realpath "$1"); models=$2; shared=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$shared/data/lfw/aligned112"
. "$(dirname "$0")/lfw_folder.sh"
make_lfw_folder "$work" "$src"
fail() { echo "FAIL: $*"; exit 1; }
"$exe" --faces "$work/faces" --pairs "$work/pairs.txt" --fold 1 \
  --models "$models/mobilefacenet.apfm,$models/mobileface.apfm" --probe "$models/mobilefacenet.apfm" \
  --attacks fgsm,i-fgsm --iterations 2 --accessible --accessible-pairs 2 \
  --out "$work/out/nested" > "$work/stdout.txt" 2> "$work/stderr.txt" || { cat "$work/stderr.txt"; fail "apf-eval"; }
out=$work/out/nested
for f in table.md results.json pairs.csv ssim.csv broken.csv plots.gp examples.png; do
  [ -s "$out/$f" ] || fail "missing $f"
done
if command -v gnuplot >/dev/null; then
  for f in ssim_hist.png broken.png; do [ -s "$out/$f" ] || fail "gnuplot did not draw $f"; done
fi
grep -q "calibrated on the scored fold itself" "$out/table.md" || fail "one-fold calibration not stated"
grep -q "| mobilefacenet | APF_g |" "$out/table.md" || fail "no mobilefacenet block"
grep -q "original accessible" "$out/table.md" || fail "no accessible row"
grep -q "SSIM 5th percentile" "$out/table.md" || fail "no SSIM percentiles"
/usr/bin/python3 - "$out" <<'PY'
import csv, json, sys
out = sys.argv[1]
r = json.load(open(out + "/results.json"))
assert r["positive_pairs"] == 3 and r["negative_pairs"] == 3, r
assert [m["name"] for m in r["recognizers"]] == ["mobilefacenet", "mobileface"]
rows = {(w["attack"], w["row"]): w for w in r["rows"]}
for a in ("fgsm", "i-fgsm"):
    for lab in ("APF_g", "APF_g + JPEG q75", "original accessible", "original accessible + JPEG q75"):
        assert (a, lab) in rows, (a, lab)
    g = rows[(a, "APF_g")]
    assert 0 < g["ssim_min"] <= g["ssim_p5"] <= g["ssim_mean"] < 1, g
    assert g["device_ms_per_face"] > 0
    # the probe's own accessible row is measured on its pairs, not copied from APF_g
    acc = rows[(a, "original accessible")]
    assert acc["pairs"] == 2 and set(acc["per_recognizer"]) == {"mobilefacenet", "mobileface"}, acc
# every figure recomputes from pairs.csv
pairs = list(csv.DictReader(open(out + "/pairs.csv")))
for w in r["rows"]:
    for name, s in w["per_recognizer"].items():
        mine = [p for p in pairs if p["attack"] == w["attack"] and p["row"] == w["row"] and p["recognizer"] == name]
        assert len(mine) == w["pairs"], (w["row"], name, len(mine))
        assert sum(int(p["matched_clean"]) for p in mine) == s["matched_before"]
        assert sum(int(p["matched_adv_orig"]) for p in mine) == s["matched_after"]
        assert sum(int(p["matched_adv_adv"]) for p in mine) == s["matched_adv_adv"]
        if s["matched_before"]:
            assert abs(s["broken"] - (s["matched_before"] - s["matched_after"]) / s["matched_before"]) < 1e-4
print("pairs.csv agrees with results.json on", len(pairs), "lines")
PY
grep -q "faces/s" "$work/stderr.txt" || fail "no progress shown"
# --realign scores re-aligned faces but keeps SSIM on the faces as protected;
# --placed attacks through re-alignment jitter; both are stated in the table
common=(--faces "$work/faces" --pairs "$work/pairs.txt" --fold 1 --models "$models/mobilefacenet.apfm"
        --probe "$models/mobilefacenet.apfm" --attacks fgsm --no-adv-adv)
"$exe" "${common[@]}" --realign 3 --out "$work/out/realign" 2> /dev/null > /dev/null || fail "apf-eval --realign"
"$exe" "${common[@]}" --placed 1 --out "$work/out/placed" 2> /dev/null > /dev/null || fail "apf-eval --placed"
grep -q "scored re-aligned (up to 3 px" "$work/out/realign/table.md" || fail "re-alignment not stated"
grep -q "placed at the identity" "$work/out/placed/table.md" || fail "placement not stated"
/usr/bin/python3 - "$out" "$work/out/realign" "$work/out/placed" <<'PY'
import json, sys
row = lambda d: {(w["attack"], w["row"]): w for w in json.load(open(d + "/results.json"))["rows"]}[("fgsm", "APF_g")]
plain, realigned, placed = (row(d) for d in sys.argv[1:])
assert realigned["ssim_mean"] == plain["ssim_mean"], (realigned["ssim_mean"], plain["ssim_mean"])
assert placed["ssim_mean"] != plain["ssim_mean"], "the placed attack is the plain one"
PY
# decoys: the shipped mosaic beside the models folder by default, random
# directions with --decoys none, the choice stated; a bad mosaic refused
"$exe" "${common[@]}" --random-target 1 --out "$work/out/decoys" 2> /dev/null > /dev/null || fail "apf-eval decoys"
"$exe" "${common[@]}" --random-target 1 --decoys none --out "$work/out/random" 2> /dev/null > /dev/null \
  || fail "apf-eval --decoys none"
grep -q "random target 1 toward decoys .*decoys.jpg" "$work/out/decoys/table.md" || fail "decoys not stated"
grep -q "random target 1 toward random directions" "$work/out/random/table.md" || fail "random directions not stated"
cmp -s "$work/out/decoys/pairs.csv" "$work/out/random/pairs.csv" && fail "the decoys changed nothing"
head -c 5000 "$models/mobileface.apfm" > "$work/not-a-mosaic.jpg"
set +e
err=$("$exe" "${common[@]}" --random-target 1 --decoys "$work/not-a-mosaic.jpg" --out "$work/out/bad" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "decoys .*not-a-mosaic.jpg" <<<"$err" || fail "a bad decoy file: rc $rc: $err"
set +e
err=$("$exe" --realign 11 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "--realign 11 accepted: rc $rc: $err"
# conventions: --help (0), --version (0), unknown option named (2), no data (2)
# outputs captured first: `cmd | grep -q` under pipefail fails when grep
# exits at the first line while the program still writes (SIGPIPE)
help=$("$exe" --help); grep -q "usage: apf-eval" <<<"$help" || fail "--help"
"$exe" --version | grep -q "libapf" || fail "--version"
set +e
err=$("$exe" --bogus 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q -- "--bogus" <<<"$err" || fail "unknown option: rc $rc: $err"
err=$("$exe" --iterations x 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q -- "--iterations" <<<"$err" || fail "bad value: rc $rc: $err"
err=$(cd "$work" && env -u APF_LFW "$exe" 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && grep -q "no LFW data" <<<"$err" || fail "no data: rc $rc: $err"
echo "1 passed, 0 failed"
