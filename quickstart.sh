#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install dependencies, fetch and
# import the pinned face models, build, and run the main job on the bundled
# defaults: protect the sample photos in examples/photos with the apf command
# (detect faces, align, device probe -> gradient blob -> cloud filter with
# the shipped T -> noise blob -> noise mapped back onto each photo), writing
# out/protected/*.protected.jpg. A rerun skips photos already done.
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
tools/setup-models.sh
[ -d build ] || meson setup build -Dpython=enabled -Dgo=enabled -Ddocs=enabled
meson compile -C build
build/examples/apf/apf protect --models models --out out/protected examples/photos
