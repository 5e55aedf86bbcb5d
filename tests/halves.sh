#!/usr/bin/env bash
# The end and cloud halves are separate: neither library depends on or
# contains the other, and each exports only apf_* (apf__* being the core's
# private internals).
set -euo pipefail
lib=$1
fail() { echo "FAIL: $*"; exit 1; }
end="$lib/libapf-end.so"; cloud="$lib/libapf-cloud.so"; core="$lib/libapf-core.so"
# outputs captured first: `cmd | grep -q` under pipefail races with SIGPIPE
end_d=$(readelf -d "$end") cloud_d=$(readelf -d "$cloud")
end_def=$(nm -D --defined-only "$end") cloud_def=$(nm -D --defined-only "$cloud")
end_und=$(nm -D --undefined-only "$end") cloud_und=$(nm -D --undefined-only "$cloud")
grep -q "NEEDED.*apf-cloud" <<<"$end_d" && fail "libapf-end needs libapf-cloud"
grep -q "NEEDED.*apf-end" <<<"$cloud_d" && fail "libapf-cloud needs libapf-end"
grep -Eq ' (apf_transfer|apf_enhancer|apf_cloud)_' <<<"$end_def" && fail "cloud symbols in libapf-end"
grep -Eq ' (apf_probe|apf_attack)_' <<<"$cloud_def" && fail "end symbols in libapf-cloud"
grep -Eq '(apf_transfer|apf_enhancer|apf_cloud)_' <<<"$end_und" && fail "libapf-end calls the cloud side"
grep -Eq '(apf_probe|apf_attack)_' <<<"$cloud_und" && fail "libapf-cloud calls the end side"
for l in "$core" "$end" "$cloud" "$lib/libapf-eval.so" "$lib/libapf.so"; do
  syms=$(nm -D --defined-only "$l")
  bad=$(awk '$2 ~ /[TDBR]/ {print $3}' <<<"$syms" | sed 's/@.*//' | grep -v '^apf_' | grep -v '^_' || true)
  [ -z "$bad" ] || fail "$(basename "$l") exports non-apf symbols: $bad"
  dyn=$(readelf -d "$l")
  grep -q "SONAME.*\.so\.0" <<<"$dyn" || fail "$(basename "$l") has no versioned SONAME"
done
echo "1 passed, 0 failed"
