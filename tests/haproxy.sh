#!/usr/bin/env bash
# The cloud filter scaled out: two apf-server backends behind HAProxy
# (examples/deploy/haproxy.cfg) on loopback. apf-load checks every answer
# against the noise libapf-cloud computes for that blob.
#  1. One backend is killed (SIGKILL) mid-run and restarted: no wrong
#     answer, no request lost; the only failures are the requests in flight
#     on the killed backend, retried by HAProxy (its L7 retries) or by the
#     client (at most one per client); HAProxy must have seen it go down.
#  2. One backend is restarted gracefully (drained through the admin
#     socket, stopped when idle, started, made ready): no retry at all.
# Usage: haproxy.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
server=$build/examples/apf/apf-server
load=$build/bench/apf-load
command -v haproxy >/dev/null || { echo "SKIP: haproxy is not installed (tools/install-deps.sh installs it)"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }
# shellcheck source=../examples/deploy/loopback.sh
. "$src/examples/deploy/loopback.sh"

p1=$(free_port) p2=$(free_port) front=$(free_port)
start_backend s1 "$p1" "$tmp/s1.log" || fail "backend s1"
start_backend s2 "$p2" "$tmp/s2.log" || fail "backend s2"
start_haproxy "$front" "$p1" "$p2" || fail "haproxy did not start"
# HAProxy refuses what the filter would refuse, before a backend sees it
code=$(/usr/bin/python3 - "$front" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"POST /v1/filter HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n")
print(s.recv(64).split(b" ")[1].decode())
PY
)
[ "$code" = 413 ] || fail "an oversize declared body got $code at the proxy, not 413"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$front/admin" || true)
[ "$code" = 404 ] || fail "an unknown path got $code at the proxy, not 404"

clients=8
run_load() { # LOG
  "$load" --url "127.0.0.1:$front" --transfer none --clients $clients --requests "$1" --hostile 0 \
    --retries 4 --time-limit 120 >"$2" 2>&1 &
  load_pid=$!
  pids+=($load_pid)
}
served() { grep -c 'POST /v1/filter 200' "$1" || true; }

# 1. SIGKILL one backend mid-run (2 s into a run of ~7 s), restart it on the same port.
run_load 1000 "$tmp/kill.log"
sleep 2
kill -0 "$load_pid" 2>/dev/null || fail "the load ended before the kill (too few requests for this machine)"
kill -9 "$pid_s1"
sleep 1
start_backend s1 "$p1" "$tmp/s1-restarted.log" || fail "restarting s1"
wait "$load_pid" || fail "apf-load through the proxy failed after a backend was killed: $(cat "$tmp/kill.log")"
cat "$tmp/kill.log"
grep -q "1000/1000 requests answered with their right noise blob (0 wrong, 0 failed)" "$tmp/kill.log" \
  || fail "not every request was answered rightly"
retried=$(sed -n 's/.*failed), \([0-9]*\) retries.*/\1/p' "$tmp/kill.log")
[ "$retried" -le $clients ] || fail "$retried retries: more than the $clients requests that can be in flight"
grep -q "filters/s1 is DOWN" "$tmp/haproxy.log" || fail "HAProxy never saw the killed backend go down"
proxy_retries=$(server_stat s1 wretr) proxy_redispatched=$(server_stat s1 wredis)
sleep 1.5 # two health checks
[ "$(served "$tmp/s1-restarted.log")" -gt 0 ] || {
  # the run may have ended before the restarted backend was checked up: send a few more
  "$load" --url "127.0.0.1:$front" --transfer none --clients 4 --requests 40 --hostile 0 >/dev/null
  [ "$(served "$tmp/s1-restarted.log")" -gt 0 ] || fail "the restarted backend took no traffic"
}
echo "killed backend: all 1000 answered rightly; retries: $retried by the client, ${proxy_retries:-?} by HAProxy on s1 (${proxy_redispatched:-?} redispatched to s2)"

# 2. Graceful restart: drain, stop when idle, start, ready.
run_load 1000 "$tmp/graceful.log"
sleep 2
kill -0 "$load_pid" 2>/dev/null || fail "the load ended before the restart"
admin "set server filters/s1 state drain" >/dev/null
for _ in $(seq 100); do [ "$(server_stat s1 scur)" = 0 ] && break; sleep 0.05; done
[ "$(server_stat s1 scur)" = 0 ] || fail "s1 still has sessions after draining"
kill -TERM "$pid_s1"
wait "$pid_s1" 2>/dev/null || true
start_backend s1 "$p1" "$tmp/s1-graceful.log" || fail "restarting s1"
admin "set server filters/s1 state ready" >/dev/null
wait "$load_pid" || fail "apf-load failed across a graceful restart: $(cat "$tmp/graceful.log")"
cat "$tmp/graceful.log"
grep -q "1000/1000 requests answered with their right noise blob (0 wrong, 0 failed), 0 retries" "$tmp/graceful.log" \
  || fail "a graceful restart cost requests"
echo "graceful restart: all 1000 answered rightly, no retry"
