#!/usr/bin/env bash
# Compare the built libraries' ABI with the committed baseline (abi/*.abi).
# abidiff's exit status is a bit set (4 = the ABI changed, 8 = a symbol was
# removed), but a reordered public struct also gives just 4, so this reads
# the change summary instead: added functions or variables are compatible
# (reported, pass); anything removed or changed fails. A deliberate change
# (a struct_size-guarded trailing field, a SONAME bump) is accepted by
# refreshing the baseline with tools/abi-baseline.sh, in the same commit.
# Usage: abi.sh SOURCE_DIR LIB_DIR
set -uo pipefail
src=$1 lib=$2
failed=0
for l in apf-core apf-photo apf-end apf-cloud apf-eval apf; do
  out=$(abidiff --headers-dir2 "$src/include/apf" --drop-private-types \
        --suppressions "$src/abi/suppressions.ini" "$src/abi/lib$l.abi" "$lib/lib$l.so" 2>&1)
  rc=$?
  # counts of suppressed (apf__ private) symbols are reported as "(N filtered
  # out)"; they carry no promise, so only the public counts decide
  bad=$(grep -E '^(Functions|Variables) changes summary' <<<"$out" \
        | sed -E 's/ \([0-9]+ filtered out\)//g' | grep -Ev ' 0 Removed, 0 Changed' || true)
  # the private node is named after the release, so a new release "removes"
  # every apf__ symbol of the old one: only a removed public symbol counts
  removed=$(grep -E '^ +\[D\] ' <<<"$out" | grep -Ev '^ +\[D\] apf__' || true)
  if [ $((rc & 3)) -ne 0 ] || { [ $((rc & 8)) -ne 0 ] && [ -n "$removed" ]; } || [ -n "$bad" ]; then
    echo "FAIL: lib$l: incompatible ABI change or abidiff error (status $rc)"
    echo "$out"
    failed=1
  elif [ $((rc & 4)) -ne 0 ]; then
    echo "lib$l: compatible ABI change (refresh the baseline with tools/abi-baseline.sh):"
    echo "$out"
  else
    echo "lib$l: ABI unchanged"
  fi
done
[ $failed -eq 0 ] && echo "1 passed, 0 failed"
exit $failed
