#!/usr/bin/env bash
# Install libapf's build and test dependencies from Debian 12's packages.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
pkgs=(build-essential pkg-config meson ninja-build
      libdnnl-dev zlib1g-dev libpng-dev libjpeg-dev libexif-dev libcjson-dev check
      libmicrohttpd-dev libcurl4-openssl-dev clang libclang-rt-14-dev valgrind curl
      python3 python3-numpy python3-dev swig golang-go abigail-tools doxygen gnuplot-nox
      openssl ca-certificates haproxy libopenmpi-dev openmpi-bin)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
