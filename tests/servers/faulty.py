"""A TCP proxy on 127.0.0.1 in front of a real server, which injects network faults on demand.

    proxy = FaultyProxy("127.0.0.1", 8333).start()
    with proxy.fault(Fault(cut_after=4096), times=2):   # the next 2 connections are cut
        ...

A fault strikes a connection when a request starts on it (pooled connections opened before the
fault was set included); `times` bounds how many connections get it, then the proxy passes
traffic clean again, so a retry can succeed.
- `latency`: seconds added before forwarding each chunk, both ways;
- `cut_after`: after this many bytes in `direction` ("down": the server's answer, "up": the
  client's request), both sides are reset (RST), mid-body;
- `stall_after`: after this many bytes in `direction`, nothing more is forwarded that way while
  the connection stays open (a peer that stops answering);
- `refuse`: the connection is reset as soon as it is accepted.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Literal

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fault:
    latency: float = 0.0
    cut_after: int | None = None
    stall_after: int | None = None
    refuse: bool = False
    direction: Literal["down", "up"] = "down"


CLEAN = Fault()


def _reset(sock: socket.socket) -> None:
    """Close with an RST rather than a FIN: what a crashed peer or a middlebox does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(sock, socket.SHUT_RD)


def _close(sock: socket.socket, how: int = socket.SHUT_RDWR) -> None:
    # shutdown() first: close() alone does not wake a thread blocked in recv() on the socket.
    try:
        sock.shutdown(how)
    except OSError:
        pass
    sock.close()


class _Connection:
    """One client connection and its upstream twin, pumped by two threads."""

    def __init__(self, proxy: "FaultyProxy", client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.fault = CLEAN
        self.counted = {"up": 0, "down": 0}  # bytes each way since the fault was taken
        self.upstream = socket.create_connection(proxy.upstream, timeout=10)
        self.upstream.settimeout(None)

    def run(self) -> None:
        self.threads = [threading.Thread(target=self._pump, args=(source, sink, direction),
                                         daemon=True)
                        for source, sink, direction in ((self.client, self.upstream, "up"),
                                                        (self.upstream, self.client, "down"))]
        for thread in self.threads:
            thread.start()

    def take_fault(self) -> Fault:
        """Called as each request starts: a pooled connection gets faults set after it opened."""
        with self.lock:
            if self.fault is CLEAN:
                fault = self.proxy.next_fault()
                if fault is not CLEAN:
                    self.fault, self.counted = fault, {"up": 0, "down": 0}
            return self.fault

    def _budget(self, direction: str, size: int) -> int | None:
        """How many of `size` bytes may pass before the fault strikes (None: all of them)."""
        with self.lock:
            fault = self.fault
            limit = fault.cut_after if fault.cut_after is not None else fault.stall_after
            if fault.direction != direction or limit is None:
                return None
            before = self.counted[direction]
            self.counted[direction] = before + size
            return max(0, limit - before) if before + size >= limit else None

    def _pump(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        try:
            while not self.closed.is_set():
                data = source.recv(_CHUNK)
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                fault = self.take_fault() if direction == "up" else self.fault
                if fault.refuse:
                    self.proxy.faulted()
                    self.close(reset=True)
                    return
                if fault.latency:
                    time.sleep(fault.latency)
                budget = self._budget(direction, len(data))
                if budget is not None:
                    sink.sendall(data[:budget])
                    self.proxy.faulted()
                    if fault.cut_after is not None:
                        self.close(reset=True)
                    else:
                        self._stall(source)
                    return
                sink.sendall(data)
                if direction == "up":
                    self.proxy.count_up(len(data))
        except OSError:
            self.close(reset=True)

    def _stall(self, source: socket.socket) -> None:
        # Hold the connection open, forwarding nothing, until a side gives up or the proxy stops.
        while not self.closed.is_set() and not self.proxy.stopping.is_set():
            readable, _, _ = select.select([source], [], [], 0.2)
            if readable and not source.recv(_CHUNK):
                break  # the other side closed: drain done
        self.close(reset=False)

    def close(self, *, reset: bool) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.upstream):
            if reset:
                _reset(sock)
            else:
                _close(sock)


class FaultyProxy:
    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._fault = CLEAN
        self._times = 0
        self.connections = 0
        #: Connections on which a fault struck (cut, stall or refusal).
        self.faults = 0
        #: Bytes forwarded from clients to the server (requests, bodies included).
        self.bytes_up = 0
        self._open: list[_Connection] = []
        self._thread = threading.Thread(target=self._accept, name=f"faulty-{self.port}",
                                        daemon=True)

    def start(self) -> "FaultyProxy":
        self._thread.start()
        return self

    def url(self, scheme: str = "http", path: str = "") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @contextmanager
    def fault(self, fault: Fault, times: int = 1_000_000) -> Iterator["FaultyProxy"]:
        with self._lock:
            self._fault, self._times = fault, times
        try:
            yield self
        finally:
            with self._lock:
                self._fault, self._times = CLEAN, 0

    def refusing(self) -> bool:
        """A refusal strikes new connections at once (taking one of its `times`)."""
        with self._lock:
            self.connections += 1
            if self._fault.refuse and self._times > 0:
                self._times -= 1
                return True
            return False

    def count_up(self, size: int) -> None:
        with self._lock:
            self.bytes_up += size

    def faulted(self) -> None:
        with self._lock:
            self.faults += 1

    def next_fault(self) -> Fault:
        with self._lock:
            if self._times <= 0:
                return CLEAN
            self._times -= 1
            return self._fault

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing():
                self.faulted()
                _reset(client)
                continue
            try:
                connection = _Connection(self, client)
            except OSError:
                _reset(client)
                continue
            self._open = [c for c in self._open if not c.closed.is_set()] + [connection]
            connection.run()

    def stop(self) -> None:
        self.stopping.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone won't)
        except OSError:
            pass
        self.listener.close()
        self._thread.join(5)
        for connection in self._open:
            connection.close(reset=True)
        for connection in self._open:
            for thread in connection.threads:
                thread.join(5)
