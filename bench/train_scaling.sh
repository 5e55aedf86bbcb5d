#!/usr/bin/env bash
# Data-parallel apf-train from one to two Open MPI ranks on this machine:
# the same short run (128 LFW training faces, batch 16, the four server
# recognizers, one stage-1 and one stage-2 epoch, validation on 16 pairs)
# as one process with 1 and 2 threads and as two ranks of 1 thread. g is
# computed once beforehand and shared. Reported: the training epochs'
# throughput (rank 0's progress: stage 1 regresses T, stage 2 also runs the
# four recognizers forward and backward) and the whole run's wall time,
# which also holds what does not split: loading, calibrating the validation
# thresholds and validating (rank 0 alone).
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
  # wall time, then the final faces/s of each stage's epoch
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
  for st in "stage 1 epoch" "stage 2 (T + E)"; do
    tr '\r' '\n' < "$tmp/$name.log" | grep -F "$st" | tail -1 | sed -n 's/.* \([0-9.]*\) faces\/s.*/ \1/p' | tr -d '\n'
  done
}
show() { # LABEL "WALL S1 S2"
  set -- "$1" $2
  printf '  %-24s stage 1 %6s faces/s, stage 2 %6s faces/s, whole run %6s s\n' "$1" "$3" "$4" "$2"
}
one1=$(run one1 "$train" "${common[@]}" --threads 1)
one2=$(run one2 "$train" "${common[@]}" --threads 2)
two1=$(run two1 mpirun -np 2 --bind-to none "$train" "${common[@]}" --threads 1)
echo "apf-train, 128 faces x (1 stage-1 + 1 stage-2 epoch), batch 16, $(nproc) CPUs:"
show "1 process, 1 thread" "$one1"
show "1 process, 2 threads" "$one2"
show "2 MPI ranks, 1 thread" "$two1"
ratio() { awk -v a="$(cut -d' ' -f"$3" <<<"$1")" -v b="$(cut -d' ' -f"$3" <<<"$2")" 'BEGIN { printf "%.2f", a / b }'; }
echo "  2 ranks against 1 process of 1 thread: stage 2 $(ratio "$two1" "$one1" 3)x, whole run $(ratio "$one1" "$two1" 1)x faster"
echo "  2 ranks against 1 process of 2 threads: stage 2 $(ratio "$two1" "$one2" 3)x, whole run $(ratio "$one2" "$two1" 1)x faster"
