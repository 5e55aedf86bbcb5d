#!/usr/bin/env bash
# Faults around the apf command: disk full, read-only output folder, a slow
# server, an interrupted batch. Each gives a clear error, the batch
# resumes, no original is touched and no half-written file carries a final
# name. Usage: faults.sh BUILD_DIR SOURCE_DIR MODELS_DIR
set -euo pipefail
build=$1 src=$2 models=$3
apf=$build/examples/apf/apf
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
chmod 755 "$tmp"
common=(--models "$models" --weights "$src/weights" --threads 2 --check none)
mkdir -p "$tmp/photos"
cp "$src"/examples/photos/*.jpg "$tmp/photos/"
sums=$(sha256sum "$tmp"/photos/*.jpg)
export PYTHONPATH=${APF_PYTHONPATH:-$build/bindings/python}
no_partial() { # every file under a final name decodes completely; no temp files left
  for f in "$1"/*; do
    case "$f" in *.tmp-*) fail "temporary file left: $f" ;; esac
    /usr/bin/python3 -c "import apf, sys; apf.load_image(sys.argv[1])" "$f" || fail "$f does not decode"
  done
}

# 1. Disk full (a file-size limit: writes fail with EFBIG).
set +e
(trap '' XFSZ; ulimit -f 4; "$apf" protect "${common[@]}" --iterations 2 --format png --out "$tmp/full" "$tmp/photos" \
   >"$tmp/out" 2>"$tmp/err")
rc=$?
set -e
[ $rc -eq 1 ] || fail "disk full: exit $rc"
grep -q "writing .* failed: File too large" "$tmp/err" || { cat "$tmp/err"; fail "disk full: no clear error"; }
[ -z "$(ls -A "$tmp/full")" ] || fail "disk full: files left: $(ls "$tmp/full")"
echo "disk full: $(grep -c 'File too large' "$tmp/err") photos failed cleanly, nothing left behind"

# 2. Read-only output folder (as an unprivileged user when running as root).
mkdir -p "$tmp/ro"
chmod 555 "$tmp/ro"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  chmod -R o+rX "$tmp"
fi
set +e
"${as_user[@]}" "$apf" protect "${common[@]}" --iterations 2 --out "$tmp/ro" "$tmp/photos/Aaron_Eckhart_0001.jpg" \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$tmp/out" "$tmp/err"; fail "read-only folder: exit $rc"; }
grep -q "Permission denied" "$tmp/err" || { cat "$tmp/err"; fail "read-only folder: no clear error"; }
[ -z "$(ls -A "$tmp/ro")" ] || fail "read-only folder: files appeared"
echo "read-only folder: $(head -1 "$tmp/err")"

# 3. A server that accepts and never answers: the client times out.
python3 -c "
import socket, time, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(8)
open('$tmp/slow.port', 'w').write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
" &
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/slow.port" ] && break; sleep 0.1; done
set +e
start=$(date +%s)
"$apf" protect "${common[@]}" --iterations 2 --server "http://127.0.0.1:$(cat "$tmp/slow.port")" --timeout 2 \
  --out "$tmp/slow" "$tmp/photos/Aaron_Eckhart_0001.jpg" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
took=$(( $(date +%s) - start ))
[ $rc -eq 1 ] || fail "slow server: exit $rc"
grep -qi "timeout\|timed out" "$tmp/err" || { cat "$tmp/err"; fail "slow server: no timeout message"; }
[ "$took" -lt 30 ] || fail "slow server: took ${took}s"
[ -z "$(ls -A "$tmp/slow" 2>/dev/null)" ] || fail "slow server: files written"
echo "slow server: $(head -1 "$tmp/err")"

# 4. Interrupted batch: kill -9 after the first photo is written, then resume.
"$apf" protect "${common[@]}" --iterations 30 --out "$tmp/batch" "$tmp/photos" >/dev/null 2>&1 &
bp=$!
for _ in $(seq 300); do [ -n "$(ls "$tmp"/batch/*.protected.jpg 2>/dev/null)" ] && break; sleep 0.05; done
kill -9 $bp 2>/dev/null || true
wait $bp 2>/dev/null || true
done_before=$(ls "$tmp"/batch/*.protected.jpg 2>/dev/null | wc -l)
[ "$done_before" -ge 1 ] && [ "$done_before" -lt 4 ] || echo "note: $done_before of 4 written before the kill"
out=$("$apf" protect "${common[@]}" --iterations 30 --out "$tmp/batch" "$tmp/photos")
grep -q "$((4 - done_before)) written, $done_before skipped" <<<"$out" || { echo "$out"; fail "resume after kill"; }
[ "$(ls "$tmp"/batch/*.protected.jpg | wc -l)" -eq 4 ] || fail "resume did not finish the batch"
no_partial "$tmp/batch"
echo "interrupted batch: $done_before written before kill -9, the rerun wrote the other $((4 - done_before))"

[ "$(sha256sum "$tmp"/photos/*.jpg)" = "$sums" ] || fail "an original photo changed"
echo "originals untouched; 1 passed, 0 failed"
