#!/usr/bin/env python3
"""Assert what a device sent to the privacy server (tests/app.sh).

    check_recording.py RECORD_FILE EXPECTED_FACES PHOTO...

The recording (every byte the apf command sent, from record_proxy.py) must
parse as HTTP requests: bodiless GET /health checks (the client asks before
its batch) and POST /v1/filter requests whose bodies are valid
gradient blobs (values in {-1, 0, 1}) carrying EXPECTED_FACES faces in all;
nothing else may be in it: no header or body byte run of any photo file and
no 112-pixel row of any aligned face."""
import sys

import numpy as np

import apf


def gradient_blobs(record):
    """The decoded gradient blob of every filter request in a recording,
    asserting that it holds nothing but health checks and such requests."""
    pos = 0
    while pos < len(record):
        end = record.index(b"\r\n\r\n", pos)
        head = record[pos:end].decode("latin-1").split("\r\n")
        fields = {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in head[1:]}
        if head[0] == "GET /health HTTP/1.1":
            assert "content-length" not in fields, "a health check with a body"
            pos = end + 4
            continue
        assert head[0] == "POST /v1/filter HTTP/1.1", "unexpected request line %r" % head[0]
        assert set(fields) <= {"host", "user-agent", "accept", "content-type", "content-length"}, fields
        n = int(fields["content-length"])
        body = record[end + 4:end + 4 + n]
        assert len(body) == n, "truncated body"
        blob = apf.decode_blob(body)
        assert blob.kind == apf.WIRE_GRADIENT
        assert set(np.unique(blob.values)) <= {-1, 0, 1}
        yield blob
        pos = end + 4 + n
    assert pos == len(record), "bytes after the last request"


def main():
    record = open(sys.argv[1], "rb").read()
    expected = int(sys.argv[2])
    photos = sys.argv[3:]
    faces, bodies = 0, 0
    for blob in gradient_blobs(record):
        faces += blob.values.shape[0]
        bodies += 1
    assert faces == expected, "server was given %d faces, expected %d" % (faces, expected)
    for p in photos:
        data = open(p, "rb").read()
        for off in range(0, len(data) - 32, 97):
            assert data[off:off + 32] not in record, "bytes of %s reached the server" % p
        img = apf.load_image(p)
        for row in img[::7]:
            assert row.tobytes()[:96] not in record, "pixels of %s reached the server" % p
    print("server received %d requests, %d bytes, %d faces of ternary gradients and nothing else"
          % (bodies, len(record), faces))


if __name__ == "__main__":
    main()
