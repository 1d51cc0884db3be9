"""A dead backend for tests: a real HTTP server on 127.0.0.1 that answers every request with
503 (what a load balancer in front of a dead storage cluster answers), and counts the requests.

Used to assert how many times Sortie tries a dead backend before it gives up, and how long that
takes, for every family: the layers must not multiply each other's retries.
"""

from __future__ import annotations

import http.server
import threading
from typing import Iterator

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        server: DeadServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>"
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def do_HEAD(self) -> None:  # noqa: N802 - no body on HEAD
        server: DeadServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.requests += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


class DeadServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self.lock:
            self.requests = 0

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def server_dead() -> Iterator[DeadServer]:
    server = DeadServer()
    yield server
    server.stop()
