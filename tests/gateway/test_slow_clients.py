"""No tenant can stall the others: bodies that stop arriving time out (408, nothing stored),
and a token holding many connections is refused beyond its share (429 with Retry-After) while
another token's reads are served at once."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Iterator

import pytest

from .live import LiveGateway, start_gateway
from .test_objects import url

HELD = 40
PER_TOKEN = 16


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[LiveGateway]:
    gateway = start_gateway("local", tmp_path, {"type": "local", "path": "main"}, extra={
        "limits": {"body_idle_timeout_s": 3, "max_in_flight_per_token": PER_TOKEN,
                   "max_in_flight_per_client": 1000}})
    yield gateway
    gateway.stop()


def _held_put(live: LiveGateway, token: str, path: str) -> socket.socket:
    """A PUT announcing 1,000 bytes that sends 10 and then nothing."""
    host, port = live.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall((f"PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                  "Content-Length: 1000\r\n\r\n").encode() + b"0123456789")
    return sock


def _status(sock: socket.socket) -> int:
    reply = b""
    while b"\r\n" not in reply:
        piece = sock.recv(4096)
        if not piece:
            break
        reply += piece
    return int(reply.split(b" ", 2)[1]) if reply else 0


def test_slow_writers_do_not_stall_readers(guarded: LiveGateway) -> None:
    live = guarded
    logs, patients = live.new_bucket(), live.new_bucket()
    assert live.client.put(url(patients, "rec1"), content=b"vital signs").status_code == 200
    writer = live.token(["write"], [logs])
    reader = live.as_token(live.token(["read"], [patients]))
    held = [_held_put(live, writer, url(logs, f"held-{i}")) for i in range(HELD)]
    try:
        time.sleep(0.5)  # let the gateway take them all
        started = time.monotonic()
        got = reader.get(url(patients, "rec1"))
        assert got.status_code == 200 and got.content == b"vital signs"
        assert time.monotonic() - started < 2
        statuses = [_status(sock) for sock in held]  # 429s at once, 408s after the timeout
        assert statuses.count(429) == HELD - PER_TOKEN
        assert statuses.count(408) == PER_TOKEN
    finally:
        for sock in held:
            sock.close()
    # Nothing of the stalled uploads became an object.
    assert live.client.get(f"/v1/buckets/{logs}/objects").json()["objects"] == []
    refused = [line for line in live.audit_lines() if line["status"] == 429]
    assert len(refused) == HELD - PER_TOKEN
