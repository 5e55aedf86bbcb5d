#!/usr/bin/env bash
# The application end to end: apf protect on whole photos, in-process and
# through a real apf-server on loopback behind a recording proxy.
# Usage: app.sh BUILD_DIR SOURCE_DIR MODELS_DIR
set -euo pipefail
build=$1 src=$2 models=$3
apf=$build/examples/apf/apf
server=$build/examples/apf/apf-server
py=/usr/bin/python3
# the Python module (for the proof scripts): this build's, or another's (sanitizer builds have none)
export PYTHONPATH=${APF_PYTHONPATH:-$build/bindings/python}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# --retry off (the default, said here because these runs count requests and
# compare outputs; the retry has its own check, 8.)
common=(--models "$models" --weights "$src/weights" --threads 2 --iterations 10 --retry off)

mkdir -p "$tmp/photos"
cp "$src"/examples/photos/*.jpg "$tmp/photos/"
chmod 444 "$tmp"/photos/*.jpg
sha_before=$(sha256sum "$tmp"/photos/*.jpg)

# 1. In-process (the default), all sample photos; originals untouched.
out=$("$apf" protect "${common[@]}" --out "$tmp/local" "$tmp/photos")
echo "$out"
grep -q "summary: 4 photos, 4 written, 0 skipped (existing output), 0 with no face, 0 failed; 5 faces found, 5 protected" <<<"$out" \
  || fail "in-process summary"
[ "$(sha256sum "$tmp"/photos/*.jpg)" = "$sha_before" ] || fail "an original changed"
[ "$(ls "$tmp"/local/*.protected.jpg | wc -l)" -eq 4 ] || fail "JPEG photos did not stay JPEG"

# 1b. --out is created with its parents; an --out that is a file, or one
#     that cannot be created, fails at once (exit 1) before any photo.
"$apf" protect "${common[@]}" --out "$tmp/nested/deeper/out" "$tmp/photos/$(ls "$tmp/photos" | head -1)" >/dev/null \
  || fail "nested --out was not created"
[ "$(ls "$tmp"/nested/deeper/out/*.protected.jpg | wc -l)" -eq 1 ] || fail "nothing written into a nested --out"
touch "$tmp/a-file"
set +e
err=$("$apf" protect "${common[@]}" --out "$tmp/a-file" "$tmp/photos" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "not a directory" <<<"$err" && ! grep -q "protecting" <<<"$err" \
  || fail "an --out that is a file: rc $rc: $err"
set +e
err=$("$apf" protect "${common[@]}" --out "$tmp/a-file/sub" "$tmp/photos" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "cannot create" <<<"$err" || fail "an --out under a file: rc $rc: $err"

# 1c. A probe list with bad samples or a bad refresh period per model is refused,
# saying which entry (LIST|MESSAGE), and writes nothing.
for case in "mobilefacenet,mobileface:1.5:0|bad samples in 'mobileface:1.5:" \
            "mobilefacenet,mobileface:1.5:17|bad samples in 'mobileface:1.5:" \
            "mobilefacenet,mobileface:1.5:x|bad samples in 'mobileface:1.5:" \
            "mobilefacenet,faceres:1:1:0|bad period in 'faceres:1:1:" \
            "mobilefacenet,faceres:1:1:9|bad period in 'faceres:1:1:" \
            "mobilefacenet,faceres:1:1:2x|bad period in 'faceres:1:1:"; do
  bad=${case%%|*} want=${case#*|}
  set +e
  err=$("$apf" protect "${common[@]}" --probe "$bad" --out "$tmp/bad-list" "$tmp/photos" 2>&1); rc=$?
  set -e
  [ $rc -ne 0 ] && grep -qF "$want" <<<"$err" || fail "probe list $bad: rc $rc: $err"
  [ ! -e "$tmp/bad-list" ] || [ -z "$(ls -A "$tmp/bad-list")" ] || fail "probe list $bad wrote photos"
done

# 1d. A JPEG quality for the diversity out of 0..100, an SSIM floor out of [0.5, 1), or a blur
# share or sigma out of range is refused before any photo is read.
for case in "jpeg-diversity diversity_jpeg 101" "jpeg-diversity diversity_jpeg -1" "jpeg-diversity diversity_jpeg x" \
            "ssim-floor ssim_floor 1" "ssim-floor ssim_floor 0.3" "ssim-floor ssim_floor nan" \
            "blur-diversity diversity_blur 1.5" "blur-diversity diversity_blur nan" \
            "blur-sigma diversity_blur_sigma 0" "blur-sigma diversity_blur_sigma 9"; do
  read -r opt field bad <<<"$case"
  set +e
  err=$("$apf" protect "${common[@]}" "--$opt" "$bad" --out "$tmp/bad-$opt" "$tmp/photos" 2>&1); rc=$?
  set -e
  [ $rc -ne 0 ] && grep -qi "$field\|$opt" <<<"$err" || fail "--$opt $bad: rc $rc: $err"
  [ ! -e "$tmp/bad-$opt" ] || [ -z "$(ls -A "$tmp/bad-$opt")" ] || fail "--$opt $bad wrote photos"
done

# 2. Resume: a second run skips every photo that already has its output.
out=$("$apf" protect "${common[@]}" --out "$tmp/local" "$tmp/photos")
grep -q "4 skipped" <<<"$out" || fail "rerun did not skip existing outputs"

# 3. Through apf-server behind a recording proxy: the server gets only
#    gradient blobs, and the result equals the in-process one.
"$server" --listen 127.0.0.1:0 --port-file "$tmp/server.port" --transfer "$src/weights/transfer.apfm" \
  --workers 2 --threads 1 2>"$tmp/server.log" &
pids+=($!)
server_pid=$!
for _ in $(seq 100); do [ -s "$tmp/server.port" ] && break; sleep 0.1; done
[ -s "$tmp/server.port" ] || fail "server did not start: $(cat "$tmp/server.log")"
"$py" "$src/tests/record_proxy.py" "$(cat "$tmp/server.port")" "$tmp/proxy.port" "$tmp/record.bin" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/proxy.port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$tmp/proxy.port")
out=$("$apf" protect "${common[@]}" --server "$url" --out "$tmp/remote" "$tmp/photos")
echo "$out"
grep -q "4 written.*5 protected" <<<"$out" || fail "server run summary"
"$py" "$src/tests/check_recording.py" "$tmp/record.bin" 5 "$tmp"/photos/*.jpg
for f in "$tmp"/local/*; do
  cmp -s "$f" "$tmp/remote/$(basename "$f")" || fail "server and in-process results differ for $(basename "$f")"
done
grep -q "POST /v1/filter 200" "$tmp/server.log" || fail "server logged no request"
if grep -qa "APFW" "$tmp/server.log"; then fail "server log contains payload bytes"; fi
health=$(curl -sf "http://127.0.0.1:$(cat "$tmp/server.port")/health")
grep -q "^ok" <<<"$health" || fail "health endpoint"
# 3b. The one-time sign pad: against a server that computes s = eps * g
#     (no T), `apf protect --server` sends g with random signs (auto) and
#     undoes them; the photos equal the in-process ones with --g-pad off
#     and in-process; what the server received agrees with the true g in
#     about half the values (chance), and --g-pad on against a server with
#     a T is refused before any photo.
"$server" --listen 127.0.0.1:0 --port-file "$tmp/id.port" --transfer none --workers 1 --threads 1 \
  2>"$tmp/id.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/id.port" ] && break; sleep 0.1; done
"$py" "$src/tests/record_proxy.py" "$(cat "$tmp/id.port")" "$tmp/padproxy.port" "$tmp/pad.bin" &
pids+=($!)
"$py" "$src/tests/record_proxy.py" "$(cat "$tmp/id.port")" "$tmp/plainproxy.port" "$tmp/plain.bin" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/padproxy.port" ] && [ -s "$tmp/plainproxy.port" ] && break; sleep 0.1; done
idargs=(--models "$models" --threads 2 --iterations 10 --retry off)
first_photo=$(ls "$tmp/photos" | head -1)
"$apf" protect "${idargs[@]}" --out "$tmp/id-local" "$tmp/photos/$first_photo" >/dev/null || fail "in-process, no T"
out=$("$apf" protect "${idargs[@]}" --server "http://127.0.0.1:$(cat "$tmp/padproxy.port")" --out "$tmp/id-pad" \
  "$tmp/photos/$first_photo") || fail "padded run"
grep -q "gradients padded" <<<"$out" || fail "the run against an identity server did not pad: $out"
"$apf" protect "${idargs[@]}" --server "http://127.0.0.1:$(cat "$tmp/plainproxy.port")" --g-pad off \
  --out "$tmp/id-plain" "$tmp/photos/$first_photo" >/dev/null || fail "--g-pad off run"
for d in id-pad id-plain; do
  cmp -s "$tmp/id-local/$(ls "$tmp/id-local")" "$tmp/$d/$(ls "$tmp/$d")" || fail "$d differs from the in-process result"
done
pad_faces=$(sed -n 's/.* \([0-9]*\) faces\{0,1\} found.*/\1/p' <<<"$out")
"$py" "$src/tests/check_recording.py" "$tmp/pad.bin" "$pad_faces" "$tmp/photos/$first_photo"
"$py" - "$src/tests" "$tmp/pad.bin" "$tmp/plain.bin" <<'PY' || fail "the padded gradient is not independent of the true one"
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from check_recording import gradient_blobs
def values(path):
    return np.concatenate([b.values for b in gradient_blobs(open(path, "rb").read())])
padded, plain = values(sys.argv[2]), values(sys.argv[3])
same = float(np.mean(padded == plain))
print("padded gradient agrees with the true one in %.3f of %d values" % (same, plain.size))
assert plain.size > 30000 and 0.48 < same < 0.52, same
PY
set +e
err=$("$apf" protect "${idargs[@]}" --server "$url" --g-pad on --out "$tmp/pad-refused" "$tmp/photos" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "g-pad on" <<<"$err" || fail "--g-pad on against a server with T: rc $rc, $err"
[ ! -e "$tmp/pad-refused" ] || [ -z "$(ls -A "$tmp/pad-refused")" ] || fail "--g-pad on wrote photos"

# The programs' OpenMP wait default (examples/wait_policy.h): GOMP_SPINCOUNT
# set before libgomp loaded (the program re-executed itself), a user's own
# value kept.
server_env=$(tr '\0' '\n' < "/proc/$server_pid/environ")
grep -qx "GOMP_SPINCOUNT=100000" <<<"$server_env" || fail "apf-server runs without the spin-count default"
GOMP_SPINCOUNT=7 "$server" --listen 127.0.0.1:0 --workers 1 --transfer none 2>/dev/null &
user_pid=$!
sleep 1
user_env=$(tr '\0' '\n' < "/proc/$user_pid/environ")
kill "$user_pid"; wait "$user_pid" 2>/dev/null || true
grep -qx "GOMP_SPINCOUNT=7" <<<"$user_env" || fail "apf-server replaced the user's GOMP_SPINCOUNT"
# Retries: the first two filter requests fail (the connection dropped
# without an answer, then a 503 as a proxy gives with no backend); apf
# protect retries them and the photo equals the in-process one.
"$py" "$src/tests/flaky_proxy.py" "$(cat "$tmp/server.port")" "$tmp/flaky.port" 2 "$tmp/flaky.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/flaky.port" ] && break; sleep 0.1; done
first=$(ls "$tmp/photos" | head -1)
out=$("$apf" protect "${common[@]}" --server "http://127.0.0.1:$(cat "$tmp/flaky.port")" --out "$tmp/retry" \
      "$tmp/photos/$first") || fail "apf protect did not survive two failed requests: $out"
echo "$out"
grep -q "cloud: 2 requests retried" <<<"$out" || fail "retries not reported: $out"
[ "$(grep -c . "$tmp/flaky.log")" -ge 3 ] && grep -q drop "$tmp/flaky.log" && grep -q 503 "$tmp/flaky.log" \
  || fail "the proxy did not fail as planned: $(cat "$tmp/flaky.log")"
n=0
for f in "$tmp"/retry/*; do
  cmp -s "$f" "$tmp/local/$(basename "$f")" || fail "retried result differs for $(basename "$f")"
  n=$((n + 1))
done
[ $n -ge 1 ] || fail "the retried run wrote nothing"

# 4. PNG stays PNG and the budget holds in the photo's own pixels.
"$py" -c "import apf; apf.save_image(apf.load_image('$tmp/photos/Aaron_Eckhart_0001.jpg'), '$tmp/one.png')"
"$apf" protect "${common[@]}" --check probe --out "$tmp/png" "$tmp/one.png" >/dev/null
"$py" -c "
import apf, numpy as np
a = apf.load_image('$tmp/one.png'); b = apf.load_image('$tmp/png/one.protected.png')
d = np.abs(a.astype(int) - b.astype(int))
assert d.max() <= 8, d.max()
assert (d > 0).mean() > 0.1, (d > 0).mean()
print('PNG output: max change', d.max(), 'changed', round(float((d > 0).mean()), 3))"

# 5. One bad file does not stop the batch; no face is reported, not written.
mkdir -p "$tmp/mixed"
cp "$tmp/photos/Aaron_Eckhart_0001.jpg" "$tmp/mixed/"
head -c 2000 "$tmp/photos/Avril_Lavigne_0001.jpg" > "$tmp/mixed/broken.jpg"
"$py" -c "import apf, numpy as np; apf.save_image(np.full((120, 160, 3), 200, np.uint8), '$tmp/mixed/blank.png')"
set +e
out=$("$apf" protect "${common[@]}" --check none --out "$tmp/mixed-out" "$tmp/mixed" 2>"$tmp/err")
rc=$?
set -e
echo "$out"; cat "$tmp/err"
[ $rc -eq 1 ] || fail "batch with a broken file exited $rc"
grep -q "broken.jpg" "$tmp/err" || fail "broken file not reported"
grep -q "blank.png: no face found" <<<"$out" || fail "faceless photo not reported"
[ -e "$tmp/mixed-out/Aaron_Eckhart_0001.protected.jpg" ] || fail "good photo not written after a bad one"
[ ! -e "$tmp/mixed-out/blank.protected.png" ] || fail "faceless photo written"

# 5b. An animal's face is not protected as a person's: the detector finds the
#     cat, the face check drops it, nothing is written for it; the person
#     beside it is protected. With the check off the cat is "protected".
mkdir -p "$tmp/pets"
cp "$src/tests/data/animals/chelsea.jpg" "$tmp/photos/Aaron_Eckhart_0001.jpg" "$tmp/pets/"
out=$("$apf" protect "${common[@]}" --check none --json --out "$tmp/pets-out" "$tmp/pets" 2>"$tmp/err")
cat "$tmp/err"
grep -q "chelsea.jpg: 1 detection not taken for a person's face (face check below 0.20)" "$tmp/err" \
  || fail "the cat was not reported as not a person's face"
grep -q "chelsea.jpg: no person's face found: NOT protected, nothing written" "$tmp/err" || fail "cat photo verdict"
[ ! -e "$tmp/pets-out/chelsea.protected.jpg" ] || fail "the cat's photo was written as protected"
[ -e "$tmp/pets-out/Aaron_Eckhart_0001.protected.jpg" ] || fail "the person beside the cat was not protected"
"$py" -c "
import json, sys
j = json.loads(sys.stdin.read())
assert j['detections_not_person'] == 1 and j['faces_protected'] == 1 and j['no_face'] == 1, j
r = {x['input'].split('/')[-1]: x for x in j['results']}
assert r['chelsea.jpg']['status'] == 'no_face' and r['chelsea.jpg']['detections_not_person'] == 1, r
assert r['Aaron_Eckhart_0001.jpg']['detections_not_person'] == 0, r
" <<<"$out" || fail "JSON counts of the face check"
out=$("$apf" protect "${common[@]}" --check none --face-check 0 --out "$tmp/pets-off" "$tmp/pets/chelsea.jpg")
grep -q "chelsea.protected.jpg: 1 face protected" <<<"$out" || fail "without the face check the cat is not detected"
# a models folder without the check's model fails at once, naming the fix
mkdir -p "$tmp/models-nomesh"
for m in "$models"/*.apfm; do [ "$(basename "$m")" = facemesh.apfm ] || ln -s "$m" "$tmp/models-nomesh/"; done
set +e
"$apf" protect --models "$tmp/models-nomesh" --threads 2 --out "$tmp/nomesh" "$tmp/pets/chelsea.jpg" >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "setup-models.sh, or --face-check 0" "$tmp/err" || fail "missing facemesh.apfm: exit $rc, $(cat "$tmp/err")"
"$apf" protect "${common[@]/$models/$tmp/models-nomesh}" --face-check 0 --check none --out "$tmp/nomesh" \
  "$tmp/pets/Aaron_Eckhart_0001.jpg" >/dev/null || fail "--face-check 0 still needs facemesh.apfm"

# 6. Faces given as landmarks instead of detection.
printf 'Aaron_Eckhart_0001.jpg\t64.2\t64.2\t88.2\t66.6\t74.4\t85.8\t61.8\t94.2\t83.4\t96.6\n' > "$tmp/lm.txt"
out=$("$apf" protect "${common[@]}" --check none --landmarks "$tmp/lm.txt" --out "$tmp/lm" "$tmp/photos/Aaron_Eckhart_0001.jpg")
grep -q "1 face protected" <<<"$out" || fail "landmarks run"

# 6b. Faces given as boxes: landmarks are found inside each; an empty box is reported.
printf 'Aaron_Eckhart_0001.jpg 45 40 105 115\nAaron_Eckhart_0001.jpg 0 130 18 148\n' > "$tmp/boxes.txt"
out=$("$apf" protect "${common[@]}" --check none --boxes "$tmp/boxes.txt" --out "$tmp/bx" "$tmp/photos/Aaron_Eckhart_0001.jpg" \
      "$tmp/photos/Avril_Lavigne_0001.jpg")
echo "$out"
grep -q "Aaron_Eckhart_0001.protected.jpg: 1 face protected" <<<"$out" || fail "boxes run"
grep -q "no face found in box 2" <<<"$out" || fail "empty box not reported"
grep -q "Avril_Lavigne_0001.jpg: no face from" <<<"$out" || fail "photo without given faces not reported"

# 6c. Bad names do not stop the batch: a missing file and a symlink loop
#     are per-file errors, the rest is protected, exit 1. Options may
#     follow the photos.
ln -s "$tmp/loop" "$tmp/loop"
one="$tmp/photos/Aaron_Eckhart_0001.jpg"
set +e
out=$("$apf" protect "$tmp/missing.jpg" "$tmp/loop" "$one" "${common[@]}" --check none --out "$tmp/bad" 2>"$tmp/err"); rc=$?
set -e
[ $rc -eq 1 ] || fail "bad names: exit $rc"
grep -q "missing.jpg: No such file" "$tmp/err" && grep -q "loop: Too many levels of symbolic links" "$tmp/err" \
  || fail "bad names not reported: $(cat "$tmp/err")"
[ -s "$tmp/bad/Aaron_Eckhart_0001.protected.jpg" ] || fail "the good photo was not protected after bad names"
grep -q "2 failed" <<<"$out" || fail "bad names not counted: $out"

# 6d. Two photos with one name in two folders: -r mirrors the folders under
#     --out; named directly, the second is refused (not "skipped"); the
#     manifest makes a rerun skip only outputs made from the same photo.
mkdir -p "$tmp/tree/a" "$tmp/tree/b/c"
cp "$one" "$tmp/tree/a/x.jpg"
cp "$tmp/photos/Avril_Lavigne_0001.jpg" "$tmp/tree/b/c/x.jpg"
out=$("$apf" protect -r "${common[@]}" --check none --out "$tmp/mirror" "$tmp/tree")
[ -s "$tmp/mirror/a/x.protected.jpg" ] && [ -s "$tmp/mirror/b/c/x.protected.jpg" ] || fail "-r did not mirror: $out"
out=$("$apf" protect -r "${common[@]}" --check none --out "$tmp/mirror" "$tmp/tree")
grep -q "2 skipped" <<<"$out" || fail "rerun of the same photos did not skip: $out"
set +e
out=$("$apf" protect "${common[@]}" --check none --out "$tmp/flat" "$tmp/tree/a/x.jpg" "$tmp/tree/b/c/x.jpg" 2>"$tmp/err"); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "is also" "$tmp/err" || fail "same-name inputs: rc $rc: $(cat "$tmp/err")"
set +e
out=$("$apf" protect "${common[@]}" --check none --out "$tmp/flat" "$tmp/tree/b/c/x.jpg" 2>"$tmp/err"); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "was made from .*tree/a/x.jpg, not from this photo" "$tmp/err" \
  || fail "an output of another photo was taken as done: rc $rc: $(cat "$tmp/err")"
[ -z "$(ls "$tmp/tree/a" | grep protected)" ] || fail "wrote beside the input with --out"

# 6d'. Decoys: a file that is not a mosaic of 112-pixel faces is refused
#      before any photo is touched; --decoys none runs random directions.
head -c 3000 "$one" > "$tmp/half.jpg"
set +e
out=$("$apf" protect "${common[@]}" --decoys "$tmp/half.jpg" --out "$tmp/bad-decoys" "$one" 2>"$tmp/err"); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "decoys .*half.jpg" "$tmp/err" || fail "bad decoys: rc $rc: $(cat "$tmp/err")"
[ -z "$(ls -A "$tmp/bad-decoys" 2>/dev/null | grep -v '^.apf-manifest$')" ] || fail "wrote with bad decoys"
"$apf" protect "${common[@]}" --decoys none --out "$tmp/no-decoys" "$one" > /dev/null \
  || fail "--decoys none"
cmp -s "$tmp/no-decoys/$(basename "${one%.*}").protected.jpg" "$tmp/local/$(basename "${one%.*}").protected.jpg" \
  && fail "--decoys none gave the decoys' result"

# 6e. A face still matched after protection is said so; --strict fails the
#     photo and writes nothing. (One iteration of eps 1 leaves faces matched.)
weak=(--models "$models" --weights "$src/weights" --threads 2 --iterations 1 --eps 1)
out=$("$apf" protect "${weak[@]}" --out "$tmp/weak" "$one")
grep -q "is still matched by" <<<"$out" && grep -q "WARNING: .* still matched" <<<"$out" \
  || fail "still-matched face not reported: $out"
grep -q -- "--retry 2 protects such photos again" <<<"$out" || fail "no --retry hint: $out"
out=$("$apf" protect "${weak[@]}" --check probe --out "$tmp/weak-probe" "$one")
grep -q "WARNING: .* still matched" <<<"$out" || fail "--check probe: matched face not reported: $out"
! grep -q -- "--retry 2 protects" <<<"$out" || fail "--retry hint with --check probe (the retry needs all)"
set +e
out=$("$apf" protect "${weak[@]}" --strict --out "$tmp/strict" "$one" 2>"$tmp/err"); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "still matched (--strict): nothing written" "$tmp/err" || fail "--strict: rc $rc"
[ -z "$(ls -A "$tmp/strict" 2>/dev/null | grep -v '^.apf-manifest$')" ] || fail "--strict wrote a matched photo"
set +e
"$apf" protect --bogus "$one" >/dev/null 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q -- "--bogus" "$tmp/err" || fail "unknown option: rc $rc"
out=$("$apf" protect -h); grep -q "exit status" <<<"$out" || fail "-h" # captured first (SIGPIPE under pipefail)
"$apf" protect --version | grep -q "^apf (libapf [0-9]" || fail "apf protect --version"
"$apf" --version | grep -q "^apf (libapf [0-9]" || fail "apf --version"
"$server" --version | grep -q "^apf-server (libapf [0-9]" || fail "apf-server --version"
# one worker starts without libmicrohttpd's thread-pool warning
set +e
timeout 3 "$server" --listen 127.0.0.1:0 --workers 1 --transfer none 2>"$tmp/one.log"
set -e
grep -q "listening on" "$tmp/one.log" || fail "one-worker server did not start: $(cat "$tmp/one.log")"
grep -qi "warning" "$tmp/one.log" && fail "one-worker server warns: $(cat "$tmp/one.log")"

# 6f. --json: stdout is one JSON object; a file list from stdin ('-').
set +e
printf '%s\n# a comment\n%s\n' "$one" "$tmp/missing2.jpg" | \
  "$apf" protect "${common[@]}" --check none --json --out "$tmp/json" - > "$tmp/out.json" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "--json with a missing file: exit $rc"
/usr/bin/python3 - "$tmp/out.json" <<'PY' || fail "--json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["photos"] == 1 and d["written"] == 1 and d["failed"] == 1, d
r = d["results"][0]
assert r["status"] == "written" and r["output"].endswith("Aaron_Eckhart_0001.protected.jpg") and r["faces_protected"] == 1, r
PY

# 7. Server down: a clear error, nothing written.
set +e
"$apf" protect "${common[@]}" --server http://127.0.0.1:9 --timeout 5 --out "$tmp/down" "$tmp/photos" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "server down exited $rc"
grep -q "server http://127.0.0.1:9/health" "$tmp/err" || fail "no server error message: $(cat "$tmp/err")"
grep -q "protecting" "$tmp/out" && fail "the batch started before the server was found down"
[ -z "$(ls -A "$tmp/down" 2>/dev/null)" ] || fail "files written while the server was down"
# 8. Retry: a photo with a face still matched is protected again with 3x
#    the iterations, and fewer matches (face, recognizer) remain than
#    without it (as the program's own "N -> M matches" counts them; a face
#    can stay matched by one recognizer while the others let go).
matched() { grep -c 'is still matched by' <<<"$1" || true; }
out=$("$apf" protect "${common[@]}" --out "$tmp/no-retry" "$tmp/photos" 2>&1)
before=$(matched "$out")
out=$("$apf" protect "${common[@]}" --retry 3 --out "$tmp/retry3" "$tmp/photos" 2>&1)
echo "$out"
after=$(matched "$out")
[ "$before" -gt 0 ] || fail "nothing to retry: no face stayed matched at 10 iterations"
grep -q "protected again with 3x the iterations" <<<"$out" || fail "no photo was protected again"
[ "$after" -lt "$before" ] || fail "the retry left $after matches, $before without it"
! grep -q -- "--retry 2 protects" <<<"$out" || fail "the --retry hint given to a run with --retry"
# --json says which photos were protected again
"$apf" protect "${common[@]}" --retry 3 --json --out "$tmp/retry-json" "$tmp/photos" > "$tmp/retry.json"
/usr/bin/python3 - "$tmp/retry.json" <<'PY' || fail "--json does not report the retry"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
assert all(isinstance(x["retried"], bool) and isinstance(x["retry_kept"], bool) for x in r), r
assert any(x["retried"] for x in r), r
assert all(x["retried"] or not x["retry_kept"] for x in r), r
PY
sha_after=$(sha256sum "$tmp"/photos/*.jpg)
[ "$sha_before" = "$sha_after" ] || fail "an original photo changed"
echo "1 passed, 0 failed"
