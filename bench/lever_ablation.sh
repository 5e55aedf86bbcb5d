#!/usr/bin/env bash
# What each lever of the shipped device setting adds, on the reporting pairs:
# the shipped attack (examples/common/probe_list.h) run again with one lever
# taken out at a time, on the same fold, pairs and thresholds as
# docs/results.md (LFW fold 8, all 300 positive pairs, thresholds from folds
# 1-7). Per recognizer: APF_g broken share adv-orig / after JPEG q75 /
# adv-adv; SSIM mean and minimum; device ms per face as apf-eval timed it.
#   bench/lever_ablation.sh [LFW_DIR] [BUILD_DIR] [SHIPPED_RUN_DIR [APF-EVAL ARGS...]]
# SHIPPED_RUN_DIR: an apf-eval output folder of the shipped setting on the
# same pairs (bench/results.sh passes its own); without one, or with "-",
# the shipped row is run here too. Further arguments go to every run
# (e.g. --fold 7 --calib-folds 6 --max-pairs 100 for validation pairs).
# About 4 minutes a row on 2 cores, 13 rows (APF_BENCH_RESUME=1 keeps the
# rows a stopped run finished, bench/run_once.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/run_once.sh
lfw=${1:-${APF_LFW:-../shared/data/lfw}}
build=${2:-build}
shipped=${3:--}
shift $(( $# < 3 ? $# : 3 ))
extra=("$@")
one_sample=mobilefacenet,mobileface:1.5,faceres:1:1:2,faceapi-recognition:1:1:2
every_iteration=mobilefacenet,mobileface:1.5:8,faceres,faceapi-recognition
rows=(
  "shipped|"
  "every model every iteration, 8 iterations (about the same device time)|--probe $every_iteration --iterations 8"
  "no decoys: random directions at the same weight|--decoys none"
  "no pull toward another face (no decoys, no random directions)|--random-target 0"
  "no Eq. 13 offset|--no-offset"
  "no gradient smoothing|--smooth 0"
  "no blur in the input diversity|--blur-diversity 0"
  "no JPEG stand-in in mobileface's samples|--jpeg-diversity 0"
  "mobileface with one sample instead of 8|--probe $one_sample"
  "no SSIM floor|--ssim-floor 0"
  "eps * g instead of the attack's reach|--reach 0"
  "the paper's step 2 instead of 3|--step 2"
  "the paper's device attack: MobileFaceNet alone, 30 iterations, step 2, eps * g|--probe mobilefacenet --iterations 30 --step 2 --reach 0 --random-target 0 --smooth 0 --jpeg-diversity 0 --ssim-floor 0 --blur-diversity 0"
)
mkdir -p out/ablation-levers
echo "| setting | mobilefacenet | faceres | mobileface | dlib ResNet-34 | SSIM mean / min | device ms/face |"
echo "|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
  name=${r%%|*}
  read -r -a args <<<"${r#*|}"
  out=out/ablation-levers/$(echo "$name" | tr -c 'a-z0-9' '-' | cut -c1-60)
  if [ "$name" = shipped ] && [ "$shipped" != - ]; then
    out=$shipped
  else
    mkdir -p "$out"
    run_once "$out" "$out.log" "$build/examples/apf-eval" --lfw "$lfw" --attacks di2-fgsm "${extra[@]}" "${args[@]}" \
      --out "$out" || { echo "$name: failed (see $out.log)" >&2; exit 1; }
  fi
  # broken.csv: attack,row,recognizer,broken,broken_adv_adv; ssim.csv: attack,row,pair,ssim
  cells=$(awk -F, '$1 == "di2-fgsm" && $2 == "APF_g" { o[$3] = $4; a[$3] = $5 }
                   $1 == "di2-fgsm" && $2 == "APF_g + JPEG q75" { j[$3] = $4 }
                   END { n = split("mobilefacenet faceres mobileface faceapi-recognition", m, " ")
                         for (i = 1; i <= n; i++)
                           printf "%s%.1f / %.1f / %.1f%%", (i > 1 ? " | " : ""), 100 * o[m[i]], 100 * j[m[i]], 100 * a[m[i]] }' \
          "$out/broken.csv")
  ssim=$(awk -F, '$1 == "di2-fgsm" && $2 == "APF_g" { s += $4; k++; if (min == "" || $4 < min) min = $4 }
                  END { printf "%.3f / %.3f", s / k, min }' "$out/ssim.csv")
  ms=$(awk -F'|' '/^\| row \| SSIM/ { t = 1 } t && /^\| APF_g \|/ { gsub(/ /, "", $6); print $6; exit }' "$out/table.md")
  echo "| $name | $cells | $ssim | $ms |"
done
