"""Moving bodies between the async HTTP server and the blocking adapters, memory bounded.

PUT: the adapter runs in a worker thread and pulls the request body block by block from the event
loop (`anyio.from_thread.run`), so at most one block (1 MiB) is held beyond the server's own
flow-control buffer, whatever the object's size. A client that goes away makes the pull raise,
the adapter's put fails, and nothing is stored.
GET: the object's chunks are read in worker threads and yielded to the server one at a time.
"""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import anyio
import anyio.to_thread
from anyio import from_thread

from adapters.streams import ObjectReader

BLOCK_SIZE = 1024 * 1024


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


async def stream_object(reader: ObjectReader) -> AsyncIterator[bytes]:
    chunks = iter(reader)
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(next, chunks, None)
            if chunk is None:
                return
            yield chunk
    finally:
        # Also reached when the client goes away (cancellation): shield the release of the
        # backend connection. The route also closes the reader after the response, for the case
        # where the server abandons this generator without closing it.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(reader.close)
