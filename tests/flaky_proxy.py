#!/usr/bin/env python3
"""An HTTP proxy whose first POSTs fail, to test the client's retries.

    flaky_proxy.py UPSTREAM_PORT PORT_FILE FAILURES LOG_FILE

Listens on 127.0.0.1 (ephemeral port, written to PORT_FILE). The first
FAILURES POST requests fail in turn one of two ways a real deployment
shows: the connection is closed without an answer (a backend killed
mid-request), or 503 Service Unavailable (a proxy with no backend up).
Everything else is forwarded to 127.0.0.1:UPSTREAM_PORT unchanged. Each
request's fate is appended to LOG_FILE ("drop", "503" or "forward")."""
import os
import socket
import sys
import threading

upstream, port_file, failures, log_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()
state = {"failed": 0}


def log(what):
    with lock, open(log_file, "a") as f:
        f.write(what + "\n")


def read_request(conn):
    """Headers and body of one request (Content-Length bodies), or None."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head, body


def serve(conn):
    try:
        while True:
            req = read_request(conn)
            if req is None:
                return
            head, body = req
            with lock:
                fail = head.startswith(b"POST") and state["failed"] < failures
                kind = state["failed"] % 2 if fail else -1
                if fail:
                    state["failed"] += 1
            if kind == 0:
                log("drop")
                return  # closed without an answer
            if kind == 1:
                log("503")
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\n"
                             b"Connection: close\r\n\r\nno backend\r\n")
                return
            log("forward")
            up = socket.create_connection(("127.0.0.1", upstream))
            head = b"\r\n".join(l for l in head.split(b"\r\n")
                                if not l.lower().startswith(b"connection:")) + b"\r\nConnection: close"
            up.sendall(head + b"\r\n\r\n" + body)
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    break
                conn.sendall(chunk)
            up.close()
            return
    except OSError:
        pass
    finally:
        conn.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % listener.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = listener.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
