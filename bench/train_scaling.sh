#!/usr/bin/env bash
# Data-parallel apf-train from one to two Open MPI ranks on this machine:
# the same short run (128 LFW training faces, batch 16, the four server
# recognizers, one stage-1 and one stage-2 epoch, validation on 16 pairs)
# as one process with 1 and 2 threads and as two ranks of 1 thread. g is
# computed once beforehand and shared, so the times are training only
# (plus start-up and rank 0's validation, which do not split).
#   bench/train_scaling.sh [LFW_DIR] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
lfw=${1:-${APF_LFW:-../shared/data/lfw}} build=${2:-build}
train=$build/examples/apf-train
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
common=(--lfw "$lfw" --train 128 --batch 16 --val 16 --attack fgsm --iterations 1 --random-target 0
  --universal-epochs 0 --stage1-epochs 1 --stage2-epochs 1)
"$train" "${common[@]}" --stage1-epochs 0 --stage2-epochs 0 --out "$tmp/g" 2>/dev/null
run() { # NAME LAUNCH... -- then apf-train's own options
  local name=$1; shift
  mkdir -p "$tmp/$name" && cp "$tmp"/g/g-*.bin "$tmp/$name/"
  local t0 t1
  t0=$(date +%s.%N)
  "$@" --out "$tmp/$name" > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; exit 1; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}
one1=$(run one1 "$train" "${common[@]}" --threads 1)
one2=$(run one2 "$train" "${common[@]}" --threads 2)
two1=$(run two1 mpirun -np 2 --bind-to none "$train" "${common[@]}" --threads 1)
echo "apf-train, 128 faces x (1 stage-1 + 1 stage-2 epoch), batch 16, $(nproc) CPUs:"
echo "  1 process, 1 thread:   $one1 s"
echo "  1 process, 2 threads:  $one2 s"
echo "  2 MPI ranks, 1 thread: $two1 s  ($(awk -v a="$one1" -v b="$two1" 'BEGIN { printf "%.2f", a / b }')x one rank of 1 thread, $(awk -v a="$one2" -v b="$two1" 'BEGIN { printf "%.2f", a / b }')x one process of 2 threads)"
