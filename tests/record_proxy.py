#!/usr/bin/env python3
"""A TCP proxy that records every byte a client sends to a server.

    record_proxy.py UPSTREAM_PORT PORT_FILE RECORD_FILE

Listens on 127.0.0.1 (ephemeral port, written to PORT_FILE), forwards each
connection to 127.0.0.1:UPSTREAM_PORT, and appends everything the client
sends to RECORD_FILE. tests/app.sh uses it to prove what leaves the device:
the recording is exactly what the server was given."""
import socket
import sys
import threading

upstream, port_file, record_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()


def pipe(src, dst, record):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if record:
                with lock, open(record_file, "ab") as f:
                    f.write(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    server = socket.create_connection(("127.0.0.1", upstream))
    threading.Thread(target=pipe, args=(client, server, True), daemon=True).start()
    threading.Thread(target=pipe, args=(server, client, False), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % listener.getsockname()[1])
import os
os.rename(port_file + ".tmp", port_file)
while True:
    conn, _ = listener.accept()
    serve(conn)
