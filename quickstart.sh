#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install dependencies, fetch and
# import the pinned face models, build, and run the main job on the bundled
# defaults (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
tools/setup-models.sh
[ -d build ] || meson setup build
meson compile -C build
build/bench/apf-bench-models --models models --lfw ../shared/data/lfw --fold 8
