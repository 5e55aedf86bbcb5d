# Shell helpers (sourced) that run apf-server backends behind HAProxy on
# loopback with examples/deploy/haproxy.cfg: used by tests/haproxy.sh and
# bench/scale_out.sh. The caller sets `server` (apf-server), `src` (the
# source tree) and `tmp` (a scratch folder), and an array `pids`.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# One command on HAProxy's admin socket; prints the answer.
admin() { /usr/bin/python3 - "$tmp/admin.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\n").encode())
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
print(out.decode(), end="")
PY
}
# A field of a backend server's `show stat` row by name (scur, wretr, wredis, stot, status).
server_stat() { admin "show stat" | awk -F, -v s="$1" -v f="$2" \
  'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } $1 == "filters" && $2 == s { print $(col[f]) }'; }
health() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$1/health" 2>/dev/null || true; }
wait_health() { for _ in $(seq 100); do [ "$(health "$1")" = 200 ] && return 0; sleep 0.1; done; return 1; }
# start_backend NAME PORT LOG: an apf-server (one filter at a time, one
# thread; T from $APF_BACKEND_TRANSFER, default none: s = eps * g); sets pid_NAME.
start_backend() {
  "$server" --listen "127.0.0.1:$2" --workers 1 --threads 1 --timeout 5 --transfer "${APF_BACKEND_TRANSFER:-none}" \
    >"$3" 2>&1 &
  eval "pid_$1=$!"
  pids+=($!)
  wait_health "127.0.0.1:$2" || { echo "backend $1 did not start"; return 1; }
}
# start_haproxy FRONT_PORT PORT1 PORT2
start_haproxy() {
  APF_FRONT=127.0.0.1:$1 APF_BACKEND1=127.0.0.1:$2 APF_BACKEND2=127.0.0.1:$3 APF_ADMIN=$tmp/admin.sock \
    haproxy -db -f "$src/examples/deploy/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
  pids+=($!)
  wait_health "127.0.0.1:$1" || { echo "haproxy did not start"; cat "$tmp/haproxy.log"; return 1; }
}
