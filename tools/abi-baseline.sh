#!/usr/bin/env bash
# Write the ABI baseline (abi/*.abi) from a build's libraries. Run this only
# when an ABI change is intended: compatible additions (new functions, new
# trailing struct fields guarded by struct_size) with a minor version bump,
# incompatible ones with a SONAME bump (docs/abi.md).
# Usage: tools/abi-baseline.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
for l in apf-core apf-photo apf-end apf-cloud apf-eval apf; do
  abidw --headers-dir include/apf --drop-private-types --no-corpus-path \
    --suppressions abi/suppressions.ini --out-file "abi/lib$l.abi" "$build/lib/lib$l.so"
  echo "abi/lib$l.abi"
done
