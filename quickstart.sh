#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install dependencies, fetch and
# import the pinned face models, build, and run the main job on the bundled
# defaults: protect the sample faces in examples/faces through the APF split
# (device probe -> gradient blob -> cloud filter with the shipped T and E ->
# noise blob -> device), writing out/protected/*.protected.png.
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
tools/setup-models.sh
[ -d build ] || meson setup build -Dpython=enabled -Dgo=enabled -Ddocs=enabled
meson compile -C build
build/examples/protect-faces --weights weights --models models --out out/protected examples/faces/*.jpg
