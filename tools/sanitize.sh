#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (GCC),
# with leak checking; any report fails. Python and Go bindings are not
# built here (an interpreter would need the ASan runtime preloaded); the
# app test borrows the regular build's Python module for its proof scripts.
# Usage: tools/sanitize.sh [BUILD_DIR] [REGULAR_BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-asan} regular=${2:-build}
if [ ! -d "$dir" ]; then
  meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false -Dpython=disabled -Dgo=disabled \
    -Ddocs=disabled -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all
fi
meson compile -C "$dir"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export APF_PYTHONPATH=$PWD/$regular/bindings/python
meson test -C "$dir" --no-suite nosan --print-errorlogs
