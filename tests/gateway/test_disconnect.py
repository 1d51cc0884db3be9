"""A client that goes away in the middle of a PUT leaves no object behind, on every backend."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from .live import LiveGateway

MiB = 1024 * 1024


def _send_half_and_close(live: LiveGateway, token: str, path: str, chunked: bool) -> None:
    size = 8 * MiB
    host, port = urlsplit(live.url).hostname, urlsplit(live.url).port
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n").encode()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head)
        half = b"h" * (size // 2)
        if chunked:
            for start in range(0, len(half), MiB):
                piece = half[start:start + MiB]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        else:
            sock.sendall(half)
        time.sleep(0.2)  # let the gateway start streaming into the backend


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_disconnect_mid_put_leaves_no_object(live: LiveGateway, gbucket: str, chunked: bool) -> None:
    token = live.token(["read", "write"], [gbucket])
    token_id = token.split("_")[1]
    key = "half-sent"
    # An older version must stay as it was: the interrupted put replaces nothing.
    writer = live.as_token(token)
    assert writer.put(f"/v1/buckets/{gbucket}/objects/{key}", content=b"old").status_code == 200
    _send_half_and_close(live, token, f"/v1/buckets/{gbucket}/objects/{key}", chunked)
    lines = live.wait_audit(2, token_id, timeout=60)
    assert len(lines) == 2, "the interrupted PUT never finished on the gateway"
    interrupted = lines[1]
    assert interrupted["action"] == "put_object" and interrupted["status"] >= 400
    assert 0 < interrupted["bytes_in"] < 8 * MiB
    assert writer.get(f"/v1/buckets/{gbucket}/objects/{key}").content == b"old"
    listed = writer.get(f"/v1/buckets/{gbucket}/objects").json()["objects"]
    assert [(o["key"], o["size"]) for o in listed] == [(key, 3)]
    if live.kind == "local":
        # No temp file left in the local adapter's work area either.
        tmp = live.config.base_dir / "main" / gbucket / "tmp"
        assert list(tmp.iterdir()) == []


def test_client_abandoning_a_get_releases_the_backend_read(live: LiveGateway, gbucket: str) -> None:
    import threading

    token = live.token(["read", "write"], [gbucket])
    token_id = token.split("_")[1]
    client = live.as_token(token)
    # Larger than what the gateway may read ahead of an abandoned client: a few chunks of the
    # adapter's size (8 MiB for Azure) queued, plus the one the integrity check holds back.
    size = 64 * MiB
    assert client.put(f"/v1/buckets/{gbucket}/objects/long", content=b"L" * size).status_code == 200
    with client.stream("GET", f"/v1/buckets/{gbucket}/objects/long") as response:
        first = next(response.iter_raw(64 * 1024))
        assert first and response.status_code == 200
    client.close()  # the connection goes with it: the gateway sees the client leave
    lines = live.wait_audit(2, token_id, timeout=60)
    assert lines[1]["action"] == "get_object" and lines[1]["bytes_out"] < size
    # The reading thread of that GET ends (it would otherwise hold a backend connection).
    deadline = time.monotonic() + 30
    while any(t.name == "sortie-get" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "sortie-get" for t in threading.enumerate())
    # And the gateway still serves.
    assert live.client.get(f"/v1/buckets/{gbucket}/objects/long",
                           headers={"Range": "bytes=0-3"}).content == b"LLLL"
