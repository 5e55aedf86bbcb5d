#!/usr/bin/env bash
# Leave one out, device side: for each bundled recognizer, the shipped
# device attack (DI2-FGSM, eps 8, 11 iterations) on the other three only,
# scored on the one left out (a recognizer the attack never saw) on LFW
# fold 8, all 300 positive pairs, thresholds from folds 1-7. Prints the
# held-out recognizer's ceiling, Eq. 11 ASR and broken share, also after
# JPEG q75; next to it, the same three attacked with the original photo at
# the paper's 30 iterations (the original-accessible attack with the same
# three, every model every iteration: what the device's 11 iterations, or a
# cloud trained on these three,
# is measured against). docs/results.md holds the table this printed.
#   bench/leave_one_out.sh [LFW_DIR] [BUILD_DIR] [FOLD [APF-EVAL ARGS...]]
# (about 6-7 min a row on 2 cores; LOO_ACCESSIBLE=0 leaves out the 30-iteration
# run and its column, about 2.5 min a row; APF_BENCH_RESUME=1 keeps the runs
# a stopped one finished, bench/run_once.sh). A fold other than 8 with further apf-eval
# arguments is how settings are compared on validation pairs, e.g.
#   bench/leave_one_out.sh ../shared/data/lfw build 7 --calib-folds 6 --max-pairs 100 --smooth 0
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/run_once.sh
lfw=${1:-${APF_LFW:-../shared/data/lfw}}
build=${2:-build}
fold=${3:-8}
shift $(( $# < 3 ? $# : 3 ))
extra=("$@")
tag=$(printf '%s' "fold$fold ${extra[*]}" | tr -c 'a-z0-9.' '-' | sed 's/-*$//')
# held out | the shipped list (probe_list.h) without that member | the same three
# with every model run each iteration (the original-accessible attack).
# mobileface keeps its weight 1.5 and 8 samples, faceres and dlib their
# period 2 (the first model of a list has weight 1, so faceres leads when
# MobileFaceNet is out, dlib next to it so that the two still take turns)
rows=(
  "mobilefacenet|faceres:1:1:2,faceapi-recognition:1:1:2,mobileface:1.5:8|faceres,faceapi-recognition,mobileface:1.5:8"
  "faceres|mobilefacenet,mobileface:1.5:8,faceapi-recognition:1:1:2|mobilefacenet,mobileface:1.5:8,faceapi-recognition"
  "mobileface|mobilefacenet,faceres:1:1:2,faceapi-recognition:1:1:2|mobilefacenet,faceres,faceapi-recognition"
  "faceapi-recognition|mobilefacenet,mobileface:1.5:8,faceres:1:1:2|mobilefacenet,mobileface:1.5:8,faceres"
)
accessible=${LOO_ACCESSIBLE:-1}
# the held-out recognizer's APF_g figures in an apf-eval table: ceiling, ASR,
# broken, broken after JPEG, separated by |
held_out_cells() {
  awk -F'|' -v held="$1" '
    /^\| row \| SSIM/ { done = 1 }
    !done && /\| APF_g/ { split($0, c, "|"); m = c[2]; gsub(/ /, "", m); if (m == "") m = last; last = m
      if (m != held) next
      row = c[3]; gsub(/^ +| +$/, "", row)
      if (row == "APF_g") { ceil = c[5]; asr = c[6]; br = c[7] } else if (row ~ /JPEG/) jp = c[7] }
    END { gsub(/ /, "", ceil); gsub(/ /, "", asr); gsub(/ /, "", br); gsub(/ /, "", jp)
          printf "%s|%s|%s|%s", ceil, asr, br, jp }' "$2"
}
if [ "$accessible" = 1 ]; then
  echo "| held out | device attacks | ceiling | ASR | broken | broken after JPEG q75 | original accessible, same three, 30 it.: broken (after JPEG q75) |"
  echo "|---|---|---|---|---|---|---|"
else
  echo "| held out | device attacks | ceiling | ASR | broken | broken after JPEG q75 |"
  echo "|---|---|---|---|---|---|"
fi
for r in "${rows[@]}"; do
  held=${r%%|*} rest=${r#*|}
  probe=${rest%%|*} whole=${rest#*|}
  out=out/loo/$tag/$held
  mkdir -p "$out"
  run_once "$out" "$out.log" "$build/examples/apf-eval" --lfw "$lfw" --fold "$fold" --probe "$probe" --iterations 11 \
    --no-adv-adv "${extra[@]}" --out "$out" || { echo "$held: failed (see $out.log)" >&2; exit 1; }
  IFS='|' read -r ceil asr br jp <<<"$(held_out_cells "$held" "$out/table.md")"
  if [ "$accessible" = 1 ]; then
    acc=out/loo/$tag/$held-accessible30
    mkdir -p "$acc"
    run_once "$acc" "$acc.log" "$build/examples/apf-eval" --lfw "$lfw" --fold "$fold" --probe "$whole" "${extra[@]}" \
      --iterations 30 --no-adv-adv --out "$acc" || { echo "$held: failed (see $acc.log)" >&2; exit 1; }
    IFS='|' read -r _ _ abr ajp <<<"$(held_out_cells "$held" "$acc/table.md")"
    echo "| $held | $probe | $ceil | $asr | $br | $jp | $abr ($ajp) |"
  else
    echo "| $held | $probe | $ceil | $asr | $br | $jp |"
  fi
done
