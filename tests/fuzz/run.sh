#!/usr/bin/env bash
# Build the libFuzzer harnesses with clang (ASan + UBSan) and run each for a
# bounded time on a copy of its seed corpus; a crash, leak or sanitizer
# report fails. Prints each target's execution count.
# Usage: run.sh SOURCE_DIR OUT_DIR SECONDS [TARGET...]   (targets: image model wire http)
set -euo pipefail
src=$1 out=$2 secs=$3
shift 3
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image model wire http)
mkdir -p "$out"
cc=${CLANG:-clang}
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Wno-unknown-pragmas -I"$src/include" -I"$src/lib/core" -I"$src/lib/photo" -I"$src/examples/apf")
lib_src=("$src"/lib/core/*.c "$src"/lib/photo/*.c "$src"/lib/end/*.c "$src"/lib/cloud/*.c)
libs=(-ldnnl -lz -ljpeg -lpng -lexif -lm -lpthread)
for t in "${targets[@]}"; do
  extra=()
  [ "$t" = http ] && extra=("$src/examples/apf/service.c")
  bin=$out/fuzz_$t
  if [ ! -x "$bin" ] || [ -n "$(find "$src/lib" "$src/tests/fuzz" "$src/examples/apf" -newer "$bin" -name '*.[ch]' | head -1)" ]; then
    "$cc" "${flags[@]}" -o "$bin" "$src/tests/fuzz/fuzz_$t.c" "${extra[@]}" "${lib_src[@]}" "${libs[@]}"
  fi
  corpus=$out/corpus_$t
  mkdir -p "$corpus"
  cp -n "$src/tests/fuzz/corpus/$t"/* "$corpus/" 2>/dev/null || true
  log=$out/fuzz_$t.log
  # -detect_leaks=0 only for the model target: oneDNN keeps per-process caches
  leaks=1
  [ "$t" = model ] && leaks=0
  if ! ASAN_OPTIONS=detect_leaks=$leaks:allocator_may_return_null=1 "$bin" -max_total_time="$secs" \
       -rss_limit_mb=2048 -timeout=20 -max_len=65536 -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    echo "FAIL: fuzz_$t found a problem:"
    tail -40 "$log"
    exit 1
  fi
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  cov=$(grep -E 'DONE' "$log" | sed -E 's/.*cov: ([0-9]+).*/\1/' | tail -1 || true)
  echo "fuzz_$t: ${execs:-?} executions in ${secs}s, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) inputs, nothing found"
done
echo "1 passed, 0 failed"
