#!/usr/bin/env bash
# The end and cloud halves are separate: neither library depends on or
# contains the other, and each exports only apf_* (apf__* being the core's
# private internals).
set -euo pipefail
lib=$1
fail() { echo "FAIL: $*"; exit 1; }
end="$lib/libapf-end.so"; cloud="$lib/libapf-cloud.so"; core="$lib/libapf-core.so"
readelf -d "$end" | grep NEEDED | grep -q apf-cloud && fail "libapf-end needs libapf-cloud"
readelf -d "$cloud" | grep NEEDED | grep -q apf-end && fail "libapf-cloud needs libapf-end"
nm -D --defined-only "$end" | grep -Eq ' (apf_transfer|apf_enhancer|apf_cloud)_' && fail "cloud symbols in libapf-end"
nm -D --defined-only "$cloud" | grep -Eq ' (apf_probe|apf_attack)_' && fail "end symbols in libapf-cloud"
nm -D --undefined-only "$end" | grep -Eq '(apf_transfer|apf_enhancer|apf_cloud)_' && fail "libapf-end calls the cloud side"
nm -D --undefined-only "$cloud" | grep -Eq '(apf_probe|apf_attack)_' && fail "libapf-cloud calls the end side"
for l in "$core" "$end" "$cloud" "$lib/libapf-eval.so" "$lib/libapf.so"; do
  bad=$(nm -D --defined-only "$l" | awk '$2 ~ /[TDBR]/ {print $3}' | sed 's/@.*//' | grep -v '^apf_' | grep -v '^_' || true)
  [ -z "$bad" ] || fail "$(basename "$l") exports non-apf symbols: $bad"
  readelf -d "$l" | grep -q "SONAME.*\.so\.0" || fail "$(basename "$l") has no versioned SONAME"
done
echo "1 passed, 0 failed"
