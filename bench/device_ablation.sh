#!/usr/bin/env bash
# The device-side settings compared on LFW validation pairs (fold 7, first 50
# positive pairs, thresholds from fold 6; never fold 8): APF_g broken share
# adv-orig / adv-adv per recognizer, SSIM and device ms per face (batch 16).
# docs/protection.md holds the table this printed.
#   bench/device_ablation.sh [LFW_DIR] [BUILD_DIR] [PATTERN]   (about 4 min a setting on 2 cores)
# PATTERN (grep -E) runs only the settings whose name matches it. Every row
# applies eps * g with steps of 2 (--reach 0 --step 2), as these settings
# were chosen before the reach budget; docs/protection.md has the reach's own
# table.
set -euo pipefail
cd "$(dirname "$0")/.."
lfw=${1:-${APF_LFW:-../shared/data/lfw}}
build=${2:-build}
pattern=${3:-.}
all4=mobilefacenet,mobileface,faceres,faceapi-recognition
mf2=mobilefacenet,mobileface:2,faceres,faceapi-recognition
mf3=mobilefacenet,mobileface:3,faceres,faceapi-recognition
settings=(
  "probe alone, 30 iterations|--probe mobilefacenet --iterations 30 --random-target 0 --smooth 0"
  "probe alone, 30 iterations, random target 1|--probe mobilefacenet --iterations 30 --random-target 1 --decoys none --smooth 0"
  "four models, 8 iterations|--probe $all4 --iterations 8 --random-target 0 --smooth 0"
  "four models, 8 iterations, random target 0.5|--probe $all4 --iterations 8 --random-target 0.5 --decoys none --smooth 0"
  "four models, 8 iterations, random target 1|--probe $all4 --iterations 8 --random-target 1 --decoys none --smooth 0"
  "four models, 32 iterations rotating, random target 1|--probe $all4 --iterations 32 --schedule rotate --random-target 1 --decoys none --smooth 0"
  "four models, mobileface x2, 8 iterations|--probe $mf2 --iterations 8 --random-target 0 --smooth 0"
  "four models, mobileface x2, 8 iterations, I-FGSM (no input diversity)|--probe $mf2 --iterations 8 --random-target 0 --attacks i-fgsm --smooth 0"
  "four models, mobileface x2, 8 iterations, M-DI2-FGSM (momentum)|--probe $mf2 --iterations 8 --random-target 0 --attacks m-di2-fgsm --smooth 0"
  "four models, mobileface x2, 8 iterations, no Eq. 13 offset|--probe $mf2 --iterations 8 --random-target 0 --no-offset --smooth 0"
  "four models, mobileface x2, 8 iterations, random target 0.5|--probe $mf2 --iterations 8 --random-target 0.5 --decoys none --smooth 0"
  "four models, mobileface x3, 8 iterations, random target 0.5|--probe $mf3 --iterations 8 --random-target 0.5 --decoys none --smooth 0"
  "four models, mobileface x3, 8 iterations, random target 1|--probe $mf3 --iterations 8 --random-target 1 --decoys none --smooth 0"
  "four models, 8 iterations, texture SSIM 0.9, random target 1|--probe $all4 --iterations 8 --texture-ssim 0.9 --random-target 1 --decoys none --smooth 0"
  "four models, mobileface x3, 8 iterations, texture SSIM 0.8, random target 0.5|--probe $mf3 --iterations 8 --texture-ssim 0.8 --random-target 0.5 --decoys none --smooth 0"
  "four models, mobileface x2, 8 iterations, smoothing 0.5 px|--probe $mf2 --iterations 8 --random-target 0 --smooth 0.5"
  "four models, mobileface x2, 8 iterations, smoothing 0.7 px|--probe $mf2 --iterations 8 --random-target 0 --smooth 0.7"
  "four models, mobileface x2, 8 iterations, smoothing 1 px|--probe $mf2 --iterations 8 --random-target 0 --smooth 1"
  "four models, mobileface x2, 8 iterations, smoothing 1.5 px|--probe $mf2 --iterations 8 --random-target 0 --smooth 1.5"
)
mkdir -p out/ablation
echo "| setting | mobilefacenet | faceres | mobileface | dlib | SSIM mean / min | device ms/face (b16) |"
echo "|---|---|---|---|---|---|---|"
for s in "${settings[@]}"; do
  name=${s%%|*}
  echo "$name" | grep -Eq -- "$pattern" || continue
  read -r -a args <<<"${s#*|}"
  out=out/ablation/$(echo "$name" | tr -c 'a-z0-9' '-')
  "$build/examples/apf-eval" --lfw "$lfw" --fold 7 --calib-folds 6 --max-pairs 50 --out "$out" \
    --step 2 --reach 0 "${args[@]}" > /dev/null 2> "$out.log" || { echo "$name: failed (see $out.log)" >&2; exit 1; }
  awk -F'|' -v name="$name" '
    /\| APF_g \|/ && !ssim_seen { split($0, c, "|"); model = c[2]; gsub(/ /, "", model);
                    if (model == "") model = last; last = model
                    cell[model] = sprintf("%s / %s", c[7], c[8]); gsub(/ +/, " ", cell[model]) }
    /^\| row \| SSIM/ { ssim_seen = 1 }
    ssim_seen && /^\| APF_g \|/ { split($0, c, "|"); ss = c[3] " /" c[5]; ms = c[6] }
    END { printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, cell["mobilefacenet"], cell["faceres"],
          cell["mobileface"], cell["faceapi-recognition"], ss, ms }' "$out/table.md"
done
