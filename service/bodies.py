"""Moving bodies between the async HTTP server and the blocking adapters, memory bounded.

PUT: the adapter runs in a worker thread and pulls the request body block by block from the event
loop (`anyio.from_thread.run`), so at most one block (1 MiB) is held beyond the server's own
flow-control buffer, whatever the object's size. A client that goes away makes the pull raise,
the adapter's put fails, and nothing is stored.
GET: a thread reads the object's chunks a few ahead of the client (see ObjectStream).
"""

from __future__ import annotations

import queue
import threading
from typing import AsyncIterator, Iterator

import anyio
import anyio.to_thread
from anyio import from_thread

from adapters.streams import ObjectReader

BLOCK_SIZE = 1024 * 1024
#: Chunks of an object read ahead of the client (GET).
READ_AHEAD = 3


class RequestBlocks:
    """The request body regrouped into blocks of about BLOCK_SIZE bytes."""

    def __init__(self, stream: AsyncIterator[bytes], block_size: int = BLOCK_SIZE) -> None:
        self._stream = stream
        self._block_size = block_size
        self._done = False

    async def next_block(self) -> bytes:
        if self._done:
            return b""
        buffer = bytearray()
        async for chunk in self._stream:
            buffer += chunk
            if len(buffer) >= self._block_size:
                return bytes(buffer)
        self._done = True
        return bytes(buffer)

    def iter_blocking(self) -> Iterator[bytes]:
        """For the worker thread: the blocks, each fetched from the event loop."""
        while True:
            block = from_thread.run(self.next_block)
            if not block:
                return
            yield block


class ObjectStream:
    """An object's chunks read ahead by a thread into a small queue, so that reading the next
    chunk from the backend overlaps with sending this one to the client. Memory stays bounded by
    the queue's depth (READ_AHEAD chunks of the adapter's size, 1 MiB for most)."""

    def __init__(self, reader: ObjectReader, depth: int = READ_AHEAD) -> None:
        self._reader = reader
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="sortie-get", daemon=True)
        self._started = False

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for chunk in self._reader:
                if not self._put(chunk):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises
            self._put(exc)
        finally:
            # The one thread that reads the body is the one that closes it.
            self._reader.close()
            self._done.set()

    async def chunks(self) -> AsyncIterator[bytes]:
        if not self._started:
            self._started = True
            self._thread.start()
        try:
            while True:
                item = self._queue.get_nowait() if not self._queue.empty() else \
                    await anyio.to_thread.run_sync(self._queue.get)
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            self.stop()

    def stop(self) -> None:
        """Ask the reading thread to finish and release the backend connection (idempotent;
        also called after the response, for when the server abandons the iteration)."""
        self._stop.set()
        if not self._started:
            self._reader.close()
            return
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def wait_closed(self, timeout: float = 60.0) -> None:
        self._done.wait(timeout)


_END = object()
