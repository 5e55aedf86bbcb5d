#!/usr/bin/env bash
# apf-train on a small folder of its own: a short run lowers its stage-1
# loss, writes loadable T and E, and apf-eval uses them for the APF_ĝ and
# APF_s rows.
set -euo pipefail
train=$1; eval=$2; models=$3; shared=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$shared/data/lfw/aligned112"
. "$(dirname "$0")/lfw_folder.sh"
make_training_folder "$work" "$src"
fail() { echo "FAIL: $*"; exit 1; }
common=(--faces "$work/faces" --pairs "$work/pairs.txt" --val-fold 1 --exclude-fold 0 --train 8 --val 3
  --batch 8 --probe "$models/mobilefacenet.apfm" --servers "$models/mobileface.apfm" --holdout ""
  --iterations 1 --universal-epochs 1 --stage1-epochs 4 --lr 3e-3 --base 8 --levels 3 --convs 1)
"$train" "${common[@]}" --stage2-epochs 1 \
  --out "$work/train" > "$work/train.out" 2> "$work/train.err" || { cat "$work/train.err"; fail "apf-train"; }
grep -q "stage1 4 stage2 1" "$work/train/state.txt" || fail "state.txt: $(cat "$work/train/state.txt")"
for f in transfer.apfm enhancer.apfm log.csv convergence.png; do
  [ -s "$work/train/$f" ] || fail "missing $f"
done
/usr/bin/python3 - "$work/train/log.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
s1 = [float(r["loss"]) for r in rows if r["stage"] == "stage1"]
assert len(s1) == 4, s1
assert s1[-1] < s1[0], "stage-1 loss did not fall: %s" % s1
s2 = [r for r in rows if r["stage"] == "stage2"]
assert len(s2) == 2, s2
print("stage-1 loss", s1)
PY
grep -q "faces/s" "$work/train.err" || fail "no progress"
# --resume continues where state.txt says: one more stage-2 epoch (with
# input diversity on every batch), no stage-1 epoch again
cp "$work/train/transfer.apfm" "$work/t-before.apfm"
"$train" "${common[@]}" --stage2-epochs 2 --diversity 1 --resume \
  --out "$work/train" > "$work/train2.out" 2> "$work/train2.err" || { cat "$work/train2.err"; fail "apf-train --resume"; }
grep -q "resumed T" "$work/train2.err" || fail "did not resume"
grep -q "stage1 4 stage2 2" "$work/train/state.txt" || fail "state after resume: $(cat "$work/train/state.txt")"
[ "$(grep -c '^stage1,' "$work/train/log.csv")" -eq 4 ] || fail "stage 1 ran again on resume"
[ "$(grep -c '^stage2,' "$work/train/log.csv")" -eq 3 ] || fail "resume did not add exactly one stage-2 epoch"
cmp -s "$work/train/transfer.apfm" "$work/t-before.apfm" && fail "resumed epoch did not change T"
# the g cache grows batch by batch: cut it after 3 of the 8 training faces
# and a new run (a two-model probe's cache is another file) resumes it
"$train" "${common[@]}" --probe "$models/mobilefacenet.apfm,$models/mobileface.apfm:2" --stage1-epochs 1 \
  --stage2-epochs 0 --out "$work/train3" > /dev/null 2> "$work/train3.err" || { cat "$work/train3.err"; fail "two-model probe"; }
cache=$(ls "$work"/train3/g-*.bin)
[ "$(ls "$work"/train3/g-*.bin | wc -l)" -eq 1 ] || fail "expected one g cache"
full=$(stat -c %s "$cache")
per=$((112 * 112 * 3))
[ "$full" -eq $((11 * per)) ] || fail "g cache holds $full bytes, want 3 validation + 8 training faces"
cp "$cache" "$work/g-full.bin"
truncate -s $((6 * per + 100)) "$cache"
"$train" "${common[@]}" --probe "$models/mobilefacenet.apfm,$models/mobileface.apfm:2" --stage1-epochs 1 \
  --stage2-epochs 0 --out "$work/train3" > /dev/null 2> "$work/train4.err" || { cat "$work/train4.err"; fail "resume g"; }
grep -q "3 of 8 training faces, resuming" "$work/train4.err" || fail "g cache not resumed: $(head -c 300 "$work/train4.err")"
cmp -s "$cache" "$work/g-full.bin" || fail "resumed g cache differs from the uninterrupted one"
help=$("$train" --help); grep -q "usage: apf-train" <<<"$help" || fail "--help" # captured first (SIGPIPE under pipefail)
set +e
"$train" --bogus > /dev/null 2> "$work/bad.err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q -- "--bogus" "$work/bad.err" || fail "unknown option: rc $rc"
"$eval" --faces "$work/faces" --pairs "$work/pairs.txt" --fold 1 --models "$models/mobileface.apfm" \
  --probe "$models/mobilefacenet.apfm" --attacks i-fgsm --iterations 1 \
  --transfer "$work/train/transfer.apfm" --enhancer "$work/train/enhancer.apfm" --out "$work/eval" \
  > "$work/eval.out" 2> "$work/eval.err" || { cat "$work/eval.err"; fail "apf-eval"; }
grep -q "APF_ĝ" "$work/eval/table.md" || fail "no APF_ĝ row"
grep -q "|  | APF_s | " "$work/eval/table.md" || fail "no APF_s row"
grep -qE "^\| APF_s \| 0\.[0-9]+ \|" "$work/eval/table.md" || fail "no APF_s SSIM"
echo "1 passed, 0 failed"
