#!/usr/bin/env bash
# The end and cloud halves are separate: neither library depends on or
# contains the other; neither the core nor the cloud half loads photo code
# (libjpeg, libpng, libexif, libapf-photo); each library exports only apf_*,
# the core's private apf__* internals only under the release's private
# version node, and the umbrella none of them.
set -euo pipefail
lib=$1
fail() { echo "FAIL: $*"; exit 1; }
major=${APF_VERSION:-}
major=${major%%.*}
[ -n "$major" ] || major='[0-9]+'
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
for l in "$core" "$cloud"; do
  deps=$(ldd "$l")
  bad=$(grep -Eo 'lib(jpeg|png[0-9]*|exif|apf-photo)[^ ]*' <<<"$deps" || true)
  [ -z "$bad" ] || fail "$(basename "$l") loads photo code: $bad"
done
core_syms=$(nm -D --defined-only "$core")
grep -q ' apf__' <<<"$core_syms" || fail "libapf-core exports no apf__ internals (the halves need them)"
# the node is named after the release when the build says which it is
node="APF_PRIVATE_${APF_VERSION:-[0-9]}"
wrong=$(grep ' apf__' <<<"$core_syms" | grep -v "@@$node" || true)
[ -z "$wrong" ] || fail "apf__ internals outside the private node $node: $(head -3 <<<"$wrong")"
public_private=$(grep ' apf_[^_]' <<<"$core_syms" | grep '@@APF_PRIVATE' || true)
[ -z "$public_private" ] || fail "public symbols in the private node: $(head -3 <<<"$public_private")"
umbrella_syms=$(nm -D --defined-only "$lib/libapf.so")
grep -q ' apf__' <<<"$umbrella_syms" && fail "the umbrella libapf exports apf__ internals"
for l in "$core" "$lib/libapf-photo.so" "$end" "$cloud" "$lib/libapf-eval.so" "$lib/libapf.so"; do
  syms=$(nm -D --defined-only "$l")
  bad=$(awk '$2 ~ /[TDBR]/ {print $3}' <<<"$syms" | sed 's/@.*//' | grep -v '^apf_' | grep -v '^_' || true)
  [ -z "$bad" ] || fail "$(basename "$l") exports non-apf symbols: $bad"
  dyn=$(readelf -d "$l")
  grep -Eq "SONAME.*\.so\.${major}\]" <<<"$dyn" || fail "$(basename "$l") has no SONAME ending in the major version $major"
done
echo "1 passed, 0 failed"
