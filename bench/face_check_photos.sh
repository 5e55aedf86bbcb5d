#!/bin/sh
# The detector's face check on photos of animals and of people that are not
# in the repository: fetched once from Debian packages (the registry the
# setup uses; `apt-get download` needs no root) into .cache/face-check, then
# apf-bench-face-check scores every detection on LFW's labelled photos
# (when ../shared is there) and on each photo.
#
#   bench/face_check_photos.sh [BUILD_DIR]            (default build, else build-dev)
#
# Animals (real photos only): GCompris's farm, world-animal and "erase"
# activities (gcompris-qt-data, WebP inside Qt resource bundles; needs
# dwebp from the `webp` package), scikit-image's cat (python3-skimage) and
# OpenCV's cat, squirrel and mandrill (opencv-doc). People: scikit-image's
# astronaut and OpenCV's sample faces. GCompris's drawn pictures (its word
# cards) are left out: they are not photos.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
[ -x "$build/bench/apf-bench-face-check" ] || build=$here/build-dev
exe=$build/bench/apf-bench-face-check
[ -x "$exe" ] || { echo "build first: apf-bench-face-check is missing" >&2; exit 2; }
command -v dwebp >/dev/null || { echo "needs dwebp: apt-get install webp" >&2; exit 2; }
cache=$here/.cache/face-check
mkdir -p "$cache/debs" "$cache/animals" "$cache/people"
cd "$cache/debs"
for p in gcompris-qt-data python3-skimage opencv-doc; do
    ls ${p}_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null
    [ -d "x-$p" ] || { dpkg -x ${p}_*.deb "x-$p.part" && mv "x-$p.part" "x-$p"; }
done
if [ ! -e "$cache/animals/.done" ]; then
    rcc=x-gcompris-qt-data/usr/share/gcompris-qt/rcc
    /usr/bin/python3 "$here/bench/qt_rcc.py" "$cache/rcc" "$rcc/explore_farm_animals.rcc" \
        "$rcc/explore_world_animals.rcc" "$rcc/erase.rcc" --match=.webp >/dev/null
    for f in "$cache"/rcc/gcompris/src/activities/*/resource/animals/*.webp \
             "$cache"/rcc/gcompris/src/activities/erase/resource/*.webp; do
        dwebp -quiet "$f" -o "$cache/animals/gcompris-$(basename "$f" .webp).png"
    done
    cp x-python3-skimage/usr/lib/python3/dist-packages/skimage/data/chelsea.png "$cache/animals/skimage-chelsea.png"
    ocv=x-opencv-doc/usr/share/doc/opencv-doc
    cp "$ocv/examples/data/squirrel_cls.jpg" "$ocv/examples/data/baboon.jpg" "$cache/animals/"
    cp "$ocv/opencv4/html/cat_det.jpg" "$cache/animals/"
    cp x-python3-skimage/usr/lib/python3/dist-packages/skimage/data/astronaut.png "$cache/people/"
    cp "$ocv/examples/data/messi5.jpg" "$ocv/opencv4/html/facereg.jpg" "$cache/people/"
    touch "$cache/animals/.done"
fi
cd "$here"
out=$("$exe" --threads 2 "$cache"/animals/* "$cache"/people/*)
echo "$out"
echo "$out" | awk -v a="$cache/animals/" -v p="$cache/people/" '
    index($0, a) == 1 && / -> / { n++; if ($0 ~ /dropped$/) d++ }
    index($0, a) == 1 && /no detection/ { none++ }
    index($0, p) == 1 && / -> / { pn++; if ($0 ~ /dropped$/) pd++ }
    END { printf "animal photos: %d detections, %d dropped by the face check (%d kept as people); %d photos with no detection\n", n, d, n - d, none
          printf "people photos: %d detections, %d dropped\n", pn, pd }'
