#!/usr/bin/env bash
# Throughput of the cloud filter behind HAProxy with one backend and with
# two (examples/deploy/haproxy.cfg; each backend one filter at a time, one
# thread), plus one backend reached directly (the proxy's own cost). One
# run, same requests; compare the ratios, not the absolute figures. The
# backends run the shipped T (weights/transfer.apfm), so the filter's work,
# not the client's, dominates; TRANSFER=none measures s = eps * g.
#   bench/scale_out.sh [BUILD_DIR] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD build=${1:-build} n=${2:-400}
server=$build/examples/apf/apf-server
load=$build/bench/apf-load
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
# shellcheck source=../examples/deploy/loopback.sh
. examples/deploy/loopback.sh
export APF_BACKEND_TRANSFER=${TRANSFER:-$PWD/weights/transfer.apfm}
p1=$(free_port) p2=$(free_port) front=$(free_port)
start_backend s1 "$p1" "$tmp/s1.log"
start_backend s2 "$p2" "$tmp/s2.log"
start_haproxy "$front" "$p1" "$p2"
rate() { "$load" --url "$1" --transfer "$APF_BACKEND_TRANSFER" --clients 8 --requests "$n" --hostile 0 |
  sed -n 's/.* \([0-9.]*\) requests\/s.*/\1/p'; }
rate "127.0.0.1:$front" >/dev/null # warm-up
direct=$(rate "127.0.0.1:$p1")
admin "set server filters/s2 state maint" >/dev/null
one=$(rate "127.0.0.1:$front")
admin "set server filters/s2 state ready" >/dev/null
sleep 1.5
two=$(rate "127.0.0.1:$front")
echo "cloud filter (T: $(basename "$APF_BACKEND_TRANSFER")), $n one-face requests from 8 clients, $(nproc) CPUs:"
echo "  one backend, direct:        $direct requests/s"
echo "  one backend through HAProxy: $one requests/s"
echo "  two backends through HAProxy: $two requests/s ($(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", a / b }')x one)"
