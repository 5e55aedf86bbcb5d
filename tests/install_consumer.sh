#!/usr/bin/env bash
# `meson install` to a scratch DESTDIR, then act as an out-of-tree consumer:
# build examples/c/split_device.c with `pkg-config apf-end apf-photo` and
# split_cloud.c with `pkg-config apf-cloud` alone, check neither binary
# references the other half (nor the cloud one any photo code), run them against the installed libraries, and
# import the installed Python module.
# Usage: install_consumer.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
prefix=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
libdir=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')
root=$dest$prefix
[ -f "$root/include/apf/apf.h" ] || fail "headers not installed"
pcdir=$root/$libdir/pkgconfig
for pc in apf-core apf-photo apf-end apf-cloud apf-eval apf; do
  [ -f "$pcdir/$pc.pc" ] || fail "$pc.pc not installed"
done
# The .pc files name the real prefix; the sysroot maps it into DESTDIR.
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
export LD_LIBRARY_PATH=$root/$libdir
out=$dest/consumer
mkdir -p "$out"
cc -o "$out/split-device" "$src/examples/c/split_device.c" $(pkg-config --cflags --libs apf-end apf-photo)
cc -o "$out/split-cloud" "$src/examples/c/split_cloud.c" $(pkg-config --cflags --libs apf-cloud)
# Each half: the other half's library is not needed and none of its symbols
# is referenced. (Outputs are captured first: `cmd | grep -q` under pipefail
# fails at random when grep exits before cmd has finished writing.)
dev_needed=$(readelf -d "$out/split-device") cloud_needed=$(readelf -d "$out/split-cloud")
dev_syms=$(nm -D "$out/split-device") cloud_syms=$(nm -D "$out/split-cloud")
dev_ldd=$(ldd "$out/split-device") cloud_ldd=$(ldd "$out/split-cloud")
grep -q "NEEDED.*apf-cloud" <<<"$dev_needed" && fail "device program needs libapf-cloud"
grep -q "NEEDED.*apf-end" <<<"$cloud_needed" && fail "cloud program needs libapf-end"
grep -Eq 'apf_(transfer|enhancer|cloud)_' <<<"$dev_syms" && fail "device program references cloud symbols"
grep -Eq 'apf_(probe|attack)_' <<<"$cloud_syms" && fail "cloud program references end symbols"
grep -Eq 'libjpeg|libpng|libexif|apf-photo' <<<"$cloud_ldd" && fail "cloud program loads photo code: $cloud_ldd"
grep -q "$root" <<<"$dev_ldd" || fail "device program did not resolve the installed library"
models=${APF_MODELS_DIR:-$src/models}
face=$src/examples/faces/Ali_Naimi_0001.jpg
"$out/split-device" gradient "$models/mobilefacenet.apfm" "$face" "$out/g.blob"
"$out/split-cloud" "$src/weights/transfer.apfm" "$out/g.blob" "$out/s.blob"
"$out/split-device" apply "$face" "$out/s.blob" "$out/protected.png"
[ -s "$out/protected.png" ] || fail "installed split produced nothing"
# The installed programs: only user programs in bin/, and `apf protect`
# run from another folder finds the installed models and weights through
# APF_DATA_DIR (the DESTDIR copy of <prefix>/share/apf).
for p in apf apf-server apf-eval apf-train; do [ -x "$root/bin/$p" ] || fail "$p not installed"; done
for p in apf-bench-models apf-bench-probe apf-load apf-bench-photos; do
  [ -e "$root/bin/$p" ] && fail "benchmark $p installed into bin/"
done
data=$root/share/apf
[ -s "$data/weights/transfer.apfm" ] || fail "weights not installed"
[ -s "$data/models/mobilefacenet.apfm" ] || fail "models not installed (imported before meson setup?)"
mkdir -p "$out/elsewhere" && cp "$src/examples/photos/Aaron_Eckhart_0001.jpg" "$out/elsewhere/"
( cd "$out/elsewhere" && APF_DATA_DIR=$data "$root/bin/apf" protect --iterations 2 --threads 2 --check none \
    Aaron_Eckhart_0001.jpg > "$out/run.txt" 2>&1 ) || { cat "$out/run.txt"; fail "installed apf protect"; }
[ -s "$out/elsewhere/Aaron_Eckhart_0001.protected.jpg" ] || fail "installed apf protect wrote nothing"
# with a data dir that has nothing, it says where it looked
set +e
( cd "$out/elsewhere" && APF_DATA_DIR=/nonexistent "$root/bin/apf" protect --models "$out/none" \
    Aaron_Eckhart_0001.jpg > "$out/run2.txt" 2>&1 ); rc=$?
set -e
[ $rc -ne 0 ] && grep -q "none/mobilefacenet.apfm" "$out/run2.txt" || fail "missing models not reported: $(cat "$out/run2.txt")"
# The installed Python module (its extension finds libapf via LD_LIBRARY_PATH here, its rpath when installed for real).
pydir=$(find "$root" -name apf.py -path '*-packages*' -printf '%h\n' | head -1)
if [ -n "$pydir" ]; then
  PYTHONPATH=$pydir /usr/bin/python3 -c "import apf, sys; assert apf.__file__.startswith('$root'), apf.__file__; print('python apf', apf.version(), 'from', apf.__file__)"
else
  fail "Python module not installed"
fi
echo "1 passed, 0 failed"
