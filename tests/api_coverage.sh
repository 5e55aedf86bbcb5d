#!/usr/bin/env bash
# Every public function (APF_API in include/apf/*.h) is exercised with bad
# arguments in tests/test_nulls.c: a new function without such a check fails.
set -euo pipefail
src=$1
missing=()
for fn in $(grep -ho 'APF_API [^(]*(' "$src"/include/apf/*.h | grep -o 'apf_[a-z0-9_]*($' | tr -d '('); do
  grep -q "\b$fn(" "$src/tests/test_nulls.c" || missing+=("$fn")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "FAIL: public functions never called with bad arguments in tests/test_nulls.c: ${missing[*]}"
  exit 1
fi
echo "every public function is covered; 1 passed, 0 failed"
