#!/usr/bin/env bash
# apf-train data-parallel under Open MPI (docs/deploy.md), on a small
# folder of its own:
#  1. two ranks compute the training faces' g in shards: the cache they
#     write equals one process's;
#  2. from the same g, two ranks splitting each batch end with the weights
#     one process gets from the whole batch (T and E, within float
#     rounding: far closer than one process with half the batch gets);
#  3. --resume under two ranks continues where the state says;
#  4. a rank killed mid-run ends the job with an error naming it, not a hang.
# Usage: train_mpi.sh APF_TRAIN MODELS_DIR SHARED_DIR
set -euo pipefail
train=$1 models=$2 shared=$3
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (tools/install-deps.sh installs openmpi-bin)"; exit 77; }
# outputs captured first: `cmd | grep -q` under pipefail fails when grep
# exits before cmd has written everything (SIGPIPE), which skipped this test
libs=$(ldd "$train")
grep -q libmpi <<<"$libs" || { echo "SKIP: apf-train was built without MPI (-Dmpi)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
src="$shared/data/lfw/aligned112"
. "$(dirname "$0")/lfw_folder.sh"
make_training_folder "$work" "$src"
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun -np 2 --oversubscribe --bind-to none)
common=(--faces "$work/faces" --pairs "$work/pairs.txt" --val-fold 1 --exclude-fold 0 --train 8 --val 3
  --probe "$models/mobilefacenet.apfm" --servers "$models/mobileface.apfm" --holdout ""
  --attack fgsm --iterations 1 --random-target 0 --lr 3e-3 --base 8 --levels 3 --convs 1 --threads 1
  --universal-epochs 1 --stage1-epochs 2)
cache() { ls "$1"/g-*.bin; }

# one process, batch 4 (two steps per epoch); and the starting T
"$train" "${common[@]}" --batch 4 --stage2-epochs 2 --out "$work/one" 2> "$work/one.err" \
  || { cat "$work/one.err"; fail "one process"; }
"$train" "${common[@]}" --batch 4 --universal-epochs 0 --stage1-epochs 0 --stage2-epochs 0 --out "$work/init" \
  2> "$work/init.err" || { cat "$work/init.err"; fail "initial T"; }
# 1. two ranks compute g themselves
"${mpi[@]}" "$train" "${common[@]}" --batch 4 --stage1-epochs 0 --stage2-epochs 0 --out "$work/g2" \
  > "$work/g2.out" 2>&1 || { cat "$work/g2.out"; fail "two ranks computing g"; }
cmp "$(cache "$work/one")" "$(cache "$work/g2")" || fail "two ranks' g cache differs from one process's"
# 2. two ranks from the same g, each taking 2 of every batch of 4
mkdir -p "$work/two" && cp "$(cache "$work/one")" "$work/two/"
"${mpi[@]}" "$train" "${common[@]}" --batch 4 --stage2-epochs 2 --out "$work/two" > "$work/two.out" 2>&1 \
  || { cat "$work/two.out"; fail "two ranks"; }
grep -q "data-parallel over MPI ranks" "$work/two.out" || fail "the run did not say it was data-parallel"
[ "$(grep -c "photos of" "$work/two.out")" -eq 1 ] || fail "more than rank 0 reported"
grep -q "stage1 2 stage2 2" "$work/two/state.txt" || fail "state: $(cat "$work/two/state.txt")"
# a negative control for the comparison: one process with half the batch
mkdir -p "$work/half" && cp "$(cache "$work/one")" "$work/half/" 2>/dev/null || true
"$train" "${common[@]}" --batch 2 --stage2-epochs 2 --out "$work/half" 2> "$work/half.err" \
  || { cat "$work/half.err"; fail "half batch"; }
/usr/bin/python3 - "$work" <<'PY'
import struct, sys, zlib
def weights(path):
    b = open(path, "rb").read()
    nodes = struct.unpack_from("<I", b, 12)[0]
    p = zlib.decompress(b[96:])
    at = 4 + struct.unpack_from("<I", p, 0)[0]
    out = []
    for _ in range(nodes):
        ntens = struct.unpack_from("<I", p, at + 104)[0]
        at += 108
        for _ in range(ntens):
            c = struct.unpack_from("<I", p, at)[0]
            out += struct.unpack_from("<%df" % c, p, at + 4)
            at += 4 + 4 * c
    return out
def mean_abs(a, b):
    assert len(a) == len(b) and a, (len(a), len(b))
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)
w = sys.argv[1]
one, two, half, init = (weights("%s/%s/transfer.apfm" % (w, d)) for d in ("one", "two", "half", "init"))
moved = mean_abs(one, init)
apart, control = mean_abs(one, two), mean_abs(one, half)
print("T: training moved the weights by %.3g on average; two ranks differ from one process by %.3g, "
      "half a batch by %.3g" % (moved, apart, control))
assert moved > 0, "training did not move T"
assert apart < 0.01 * moved, "two ranks did not give one process's weights"
assert control > 0.1 * moved, "the comparison cannot tell a different batch apart"
e1, e2 = weights("%s/one/enhancer.apfm" % w), weights("%s/two/enhancer.apfm" % w)
ediff = max(abs(x - y) for x, y in zip(e1, e2))
print("E: largest difference %.3g" % ediff)
assert ediff < 1e-3 * max(1.0, max(abs(x) for x in e1)), "two ranks' E differs"
PY
# 3. resume under two ranks: one more stage-2 epoch
"${mpi[@]}" "$train" "${common[@]}" --batch 4 --stage2-epochs 3 --resume --out "$work/two" > "$work/resume.out" 2>&1 \
  || { cat "$work/resume.out"; fail "resume under two ranks"; }
grep -q "resumed T" "$work/resume.out" || fail "did not resume"
grep -q "stage1 2 stage2 3" "$work/two/state.txt" || fail "state after resume: $(cat "$work/two/state.txt")"
[ "$(grep -c '^stage2,' "$work/two/log.csv")" -eq 4 ] || fail "resume did not add exactly one stage-2 epoch"
# 4. kill rank 1 while the job trains
"${mpi[@]}" "$train" "${common[@]}" --batch 4 --stage1-epochs 400 --stage2-epochs 0 --out "$work/killed" \
  > "$work/killed.out" 2>&1 &
job=$!
rank1=""
for _ in $(seq 300); do
  for p in $(pgrep -f "apf-train.*$work/killed" || true); do
    env_of=$(tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null || true)
    grep -qx "OMPI_COMM_WORLD_RANK=1" <<<"$env_of" && rank1=$p
  done
  [ -n "$rank1" ] && grep -q "stage 1 epoch" "$work/killed.out" 2>/dev/null && break
  sleep 0.2
done
[ -n "$rank1" ] || { kill -9 $job; fail "rank 1 not found"; }
kill -9 "$rank1"
start=$(date +%s)
for _ in $(seq 600); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
if kill -0 $job 2>/dev/null; then kill -9 $job; pkill -9 -f "apf-train.*$work/killed" || true; fail "the job hangs after rank 1 died"; fi
set +e; wait $job; rc=$?; set -e
[ $rc -ne 0 ] || fail "the job exited 0 after a rank died"
grep -qi "rank 1\|signal 9\|killed" "$work/killed.out" || { cat "$work/killed.out"; fail "no message names the dead rank"; }
pgrep -f "apf-train.*$work/killed" >/dev/null && fail "rank 0 is still running"
echo "a killed rank ended the job in $(( $(date +%s) - start )) s with status $rc:"
grep -i "rank 1\|signal" "$work/killed.out" | head -3
echo "train_mpi: all checks passed"
