"""Moving bodies between the async HTTP server and the blocking adapters, memory bounded.

PUT: the event loop reads the request body into a small queue of 1 MiB blocks (RequestPump) and
the adapter, in a worker thread, takes them from it; at most READ_AHEAD blocks are held beyond the
server's own flow-control buffer, whatever the object's size. A client that goes away makes the
adapter's stream raise, its put fails, and nothing is stored.
GET: a thread reads the object's chunks a few ahead of the client (see ObjectStream).
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import suppress
from typing import AsyncIterator, Callable, Iterator, TypeVar

import anyio
import anyio.to_thread
from anyio import from_thread

from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from adapters.streams import ObjectReader

T = TypeVar("T")

BLOCK_SIZE = 1024 * 1024
#: Blocks of a body read ahead: of the request for the adapter (PUT), of the object for the
#: client (GET).
READ_AHEAD = 3
#: Bodies up to this size are read at once rather than streamed through a reading thread.
SMALL_BODY = 256 * 1024


class RequestPump:
    """The request body, read on the event loop into blocks of about BLOCK_SIZE bytes and queued
    (at most READ_AHEAD blocks) ahead of the adapter, which takes them in its worker thread."""

    def __init__(self, stream: AsyncIterator[bytes], block_size: int = BLOCK_SIZE,
                 depth: int = READ_AHEAD, idle_timeout: float = 30.0) -> None:
        self._stream = stream
        self._block_size = block_size
        self._idle_timeout = idle_timeout
        self._send, self._receive = anyio.create_memory_object_stream[object](depth)

    async def run(self) -> None:
        """The event-loop side. Never raises: a client that goes away is handed to the adapter's
        side as the exception its stream raises, so the put fails and nothing is stored."""
        async with self._send:
            try:
                buffer = bytearray()
                async for chunk in self._idle_bounded():
                    buffer += chunk
                    if len(buffer) >= self._block_size:
                        await self._send.send(bytes(buffer))
                        buffer = bytearray()
                if buffer:
                    await self._send.send(bytes(buffer))
                await self._send.send(_END)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the adapter stopped reading (it failed): nothing left to feed
            except Exception as exc:  # noqa: BLE001 - ClientDisconnect and the like
                with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await self._send.send(exc)

    async def _idle_bounded(self) -> AsyncIterator[bytes]:
        """The body's chunks; a body that sends nothing for `idle_timeout` seconds fails."""
        chunks = self._stream.__aiter__()
        while True:
            try:
                with anyio.fail_after(self._idle_timeout):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise BodyStalled(f"the request body sent nothing for {self._idle_timeout:g} s "
                                  "(limits.body_idle_timeout_s)") from None
            yield chunk

    def iter_blocking(self) -> Iterator[bytes]:
        """The worker-thread side: the blocks, each taken from the event loop."""
        while True:
            try:
                item = from_thread.run(self._receive.receive)
            except anyio.EndOfStream:
                # The reading side was cancelled before the end (the server is shutting down).
                raise ClientDisconnect() from None
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._receive.close()


class BodyStalled(Exception):
    """The client stopped sending its body (answered 408; nothing is stored)."""


async def run_with_body(stream: AsyncIterator[bytes], consume: Callable[[Iterator[bytes]], T], *,
                        idle_timeout: float = 30.0) -> T:
    """Run `consume(blocks)` (a blocking adapter call) in a worker thread while the event loop
    reads the request body ahead of it: receiving the next block overlaps with storing this one."""
    pump = RequestPump(stream, idle_timeout=idle_timeout)
    result: list[T] = []
    error: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(pump.run)
        try:
            result.append(await anyio.to_thread.run_sync(consume, pump.iter_blocking()))
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside the task group
            error = exc
        finally:
            pump.close()
            group.cancel_scope.cancel()
    if error is not None:
        # Raised here rather than inside the group, which would wrap it in an ExceptionGroup.
        raise error
    return result[0]


class ObjectStream:
    """An object's chunks read ahead by a thread, so that reading the next chunk from the
    backend overlaps with sending this one to the client. Memory stays bounded: the thread reads
    a chunk only while fewer than `depth` wait to be sent (READ_AHEAD chunks of the adapter's
    size, 1 MiB for most). The thread hands each chunk to the event loop with one
    `call_soon_threadsafe` (a wake-up), not one worker-thread round trip per chunk: that hop
    cost the gateway as much CPU as sending the bytes."""

    def __init__(self, reader: ObjectReader, depth: int = READ_AHEAD) -> None:
        self._reader = reader
        self._slots = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="sortie-get", daemon=True)
        self._started = False
        self._items: asyncio.Queue[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _hand(self, item: object) -> bool:
        """Give one item to the event loop once a slot is free; False when asked to stop."""
        while not self._slots.acquire(timeout=0.1):
            if self._stop.is_set():
                return False
        if self._stop.is_set():
            return False
        assert self._loop is not None and self._items is not None
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            return False
        return True

    def _produce(self) -> None:
        try:
            for chunk in self._reader:
                if not self._hand(chunk):
                    return
            self._hand(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises
            self._hand(exc)
        finally:
            # The one thread that reads the body is the one that closes it.
            self._reader.close()
            self._done.set()

    async def chunks(self) -> AsyncIterator[bytes]:
        if not self._started:
            self._started = True
            self._loop = asyncio.get_running_loop()
            self._items = asyncio.Queue()
            self._thread.start()
        assert self._items is not None
        try:
            while True:
                item = await self._items.get()
                self._slots.release()
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

    def wait_closed(self, timeout: float = 60.0) -> None:
        self._done.wait(timeout)


_END = object()


def read_small(reader: ObjectReader) -> bytes | None:
    """A small body read whole, in the worker-thread call that opened it (no reading thread, no
    per-chunk hops, one send with the headers: most of a small GET's latency); None when large."""
    if reader.length <= SMALL_BODY:
        return reader.read()
    return None


def body_response(reader: ObjectReader, small: bytes | None, ranged: bool,
                  headers: dict[str, str],
                  wrap: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]] = lambda c: c,
                  ) -> Response:
    """A GET's answer with the object's body, for both fronts: its length (and, for a range,
    206 with Content-Range), then the small body in one send or the large one streamed by an
    ObjectStream (`wrap` may watch its chunks)."""
    headers["content-length"] = str(reader.length)
    status = 200
    if ranged:
        status = 206
        headers["content-range"] = f"bytes {reader.start}-{reader.end}/{reader.info.size}"
    if small is not None:
        return Response(small, status_code=status, headers=headers)
    stream = ObjectStream(reader)
    return StreamingResponse(wrap(stream.chunks()), status_code=status, headers=headers,
                             background=BackgroundTask(stream.stop))
