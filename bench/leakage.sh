#!/usr/bin/env bash
# What a curious server learns from g, per device-side mitigation: one
# apf-leakage run per setting (docs/threat-model.md), rows collected into
# out/leakage/table.md. The device's g is computed once (out/leakage-g) and
# each setting's inverter trains on its own mitigated copy; a stopped run
# resumes (each setting's folder keeps its inverter and epoch count).
#   bench/leakage.sh [LFW_DIR] [BUILD_DIR] [SETTING...]
# Extra apf-leakage options come from $APF_LEAKAGE_ARGS (e.g. "--epochs 0"
# for the protection and zero-knowledge columns only) and the rows go to
# $APF_LEAKAGE_OUT (default out/leakage).
set -euo pipefail
cd "$(dirname "$0")/.."
lfw=${1:-${APF_LFW:-../shared/data/lfw}}
build=${2:-build}
shift $(( $# > 2 ? 2 : $# ))
settings=("$@")
[ ${#settings[@]} -gt 0 ] || settings=(none flip:0.2 flip:0.35 drop:0.5 down:2 down:4)
root=${APF_LEAKAGE_OUT:-out/leakage}
mkdir -p "$root"
table=$root/table.md
{
  echo "| setting | SSIM | PSNR | mobilefacenet: rec / rec best / g best / clean (%) | faceres | mobileface | dlib | broken mfn | faceres | mobileface | dlib | bytes/face |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} > "$table"
for s in "${settings[@]}"; do
  dir=$root/${s/:/-}
  # shellcheck disable=SC2086 # APF_LEAKAGE_ARGS is a list of options
  "$build/examples/apf-leakage" --lfw "$lfw" --mitigation "$s" --out "$dir" --resume ${APF_LEAKAGE_ARGS:-} > /dev/null
  cat "$dir/row.md" >> "$table"
done
cat "$table"
