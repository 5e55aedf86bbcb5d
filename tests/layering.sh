#!/usr/bin/env bash
# The library's layers, checked on the sources: lib/core is what both halves
# need and includes nothing above it; lib/photo (photo files, faces, the
# whole-photo pipeline) builds on the core and the end side's public API; lib/end and lib/cloud never include each other, and
# neither includes photo code; lib/eval builds on the core only. A quoted
# include that climbs into another lib/ folder, or a public header of a part
# the folder may not use, fails.
# Usage: layering.sh SOURCE_DIR
set -euo pipefail
src=$1
fail=0
# folder : the lib/ folders and public headers it must not include
declare -A banned=(
  [core]="end cloud eval photo apf_end.h apf_cloud.h apf_eval.h apf_photo.h apf_face.h apf.h jpeglib.h png.h libexif"
  [photo]="end cloud eval apf_cloud.h apf_eval.h apf.h"
  [end]="cloud photo eval apf_cloud.h apf_photo.h apf_face.h apf_eval.h apf.h jpeglib.h png.h libexif"
  [cloud]="end photo eval apf_end.h apf_photo.h apf_face.h apf_eval.h apf.h jpeglib.h png.h libexif"
  [eval]="end cloud photo apf_end.h apf_cloud.h apf_photo.h apf_face.h apf.h jpeglib.h png.h libexif"
)
checked=0
for dir in "${!banned[@]}"; do
  [ -d "$src/lib/$dir" ] || { echo "FAIL: lib/$dir is missing"; exit 1; }
  for f in "$src/lib/$dir"/*.[ch]; do
    checked=$((checked + 1))
    incs=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$f" || true)
    for b in ${banned[$dir]}; do
      case $b in
        *.h) pat="[\"</]$b[\">]" ;;
        libexif) pat="<libexif/" ;;
        *) pat="\"\\.\\./$b/" ;;
      esac
      if hit=$(grep -E "$pat" <<<"$incs"); then
        echo "FAIL: ${f#"$src"/} includes $b: $hit"
        fail=1
      fi
    done
  done
done
[ "$checked" -gt 20 ] || { echo "FAIL: only $checked files checked"; exit 1; }
[ $fail -eq 0 ] || exit 1
echo "layering: $checked files checked"
echo "1 passed, 0 failed"
