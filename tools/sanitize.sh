#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (GCC);
# any report fails. Two passes: every C-level test with leak checking, then
# the Python binding's tests with the sanitizer runtimes preloaded into the
# interpreter (leak checking off there: CPython keeps its objects at exit).
# The Go binding is not built here, nor apf-train's MPI mode (Open MPI's
# own allocations at exit are not ours to suppress; train_mpi skips here and
# runs in the regular build). The app test's proof scripts borrow the
# regular build's Python module.
# Usage: tools/sanitize.sh [BUILD_DIR] [REGULAR_BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-asan} regular=${2:-build}
if [ ! -d "$dir" ]; then
  meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false -Dpython=enabled -Dgo=disabled -Dmpi=disabled \
    -Ddocs=disabled -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all
fi
meson compile -C "$dir"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export APF_PYTHONPATH=$PWD/$regular/bindings/python
# ASan's quarantine keeps freed memory resident: apf-load's flatness check
# is meaningful only in the regular build.
export APF_LOAD_SKIP_MEMORY=1
meson test -C "$dir" --no-suite nosan --no-suite python --print-errorlogs
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 meson test -C "$dir" --suite python --print-errorlogs
