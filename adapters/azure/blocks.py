"""Large objects as staged blocks: sizes within Azure's limits, a bounded number in flight.

Staged (uncommitted) blocks are invisible: the blob a reader sees changes only at Put Block List,
which the store sends after the whole stream was received and its SHA-256 checked. If anything
fails before that, the blocks are simply never committed (Azure discards them after a week) and
an existing blob with the same name is untouched.
"""

from __future__ import annotations

import base64
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

from azure.storage.blob import BlobClient

from ..contract import Capabilities

#: Blocks of unknown-length streams grow (Azure allows blocks of different sizes in one blob):
#: small objects stay cheap in memory, huge ones still fit in 50,000 blocks. The block size
#: doubles after every `_GROWTH_EVERY` blocks, capped at the backend's largest block.
_GROWTH_EVERY = 2_500


def block_sizes(size: int | None, capabilities: Capabilities) -> Iterator[int]:
    """Endless sizes for consecutive blocks of an object of `size` bytes (None: unknown)."""
    if size is not None:
        part = capabilities.part_size_for(size)
        while True:
            yield part
    part = capabilities.min_part_size
    while True:
        for _ in range(_GROWTH_EVERY):
            yield part
        part = min(part * 2, capabilities.max_part_size)


def split(chunks: Iterable[bytes], sizes: Iterator[int],
          before_block: Callable[[], None] | None = None) -> Iterator[bytes]:
    """Regroup chunks of any size into consecutive blocks of the given sizes (the last shorter).

    `before_block` is called when the first bytes of a block arrive, before any is kept: a
    stager reserves the block's slot there, so that waiting for a slot holds one chunk, not
    a whole block.
    """
    pending: list[memoryview] = []
    have = 0
    target = next(sizes)
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            if have == 0 and before_block is not None:
                before_block()
            take = min(len(view), target - have)
            pending.append(view[:take])
            have += take
            view = view[take:]
            if have == target:
                yield b"".join(pending)
                pending, have, target = [], 0, next(sizes)
    if have:
        yield b"".join(pending)


class BlockStager:
    """Stages blocks of one blob through a small thread pool, at most `in_flight` at a time.

    `reserve()` (or `stage()` without one) blocks the caller while the pool is full, so memory
    stays below in_flight x block size whatever the object size, plus the block being filled.
    `shared` (one per store) also bounds the blocks across every upload of the store: a drill
    writing eight large objects at once must not hold eight times the buffers of one. Each
    block goes with its Content-MD5 (validate_content), so Azure rejects a block damaged on the
    way instead of storing it.
    """

    def __init__(self, blob: BlobClient, in_flight: int,
                 shared: threading.Semaphore | None = None) -> None:
        self._blob = blob
        self._slots = threading.BoundedSemaphore(in_flight)
        self._shared = shared
        self._pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="azure-block")
        self._futures: list[Future[None]] = []
        self._failure: BaseException | None = None
        # Same length for every id of this upload (Azure requires it), unique per upload so two
        # writers of one name never mix their blocks.
        self._prefix = uuid.uuid4().hex
        self._reserved = False
        self.block_ids: list[str] = []

    def reserve(self) -> None:
        """Take the slots of the next block before filling it (waits while all are taken)."""
        self._raise_first_failure()
        self._slots.acquire()
        if self._shared is not None:
            self._shared.acquire()
        self._reserved = True

    def stage(self, data: bytes) -> None:
        if not self._reserved:
            self.reserve()
        self._reserved = False
        block_id = base64.b64encode(f"{self._prefix}-{len(self.block_ids):06d}".encode()).decode()
        self.block_ids.append(block_id)
        try:
            future = self._pool.submit(self._stage_one, block_id, data)
        except BaseException:
            self._release()
            raise
        self._futures.append(future)

    def _stage_one(self, block_id: str, data: bytes) -> None:
        try:
            self._blob.stage_block(block_id, data, length=len(data), validate_content=True)
        except BaseException as exc:
            if self._failure is None:
                self._failure = exc
            raise
        finally:
            self._release()

    def _release(self) -> None:
        if self._shared is not None:
            self._shared.release()
        self._slots.release()

    def _raise_first_failure(self) -> None:
        # Stop reading the caller's stream as soon as one block failed: the upload is lost anyway.
        if self._failure is not None:
            raise self._failure

    def wait(self) -> list[str]:
        """Wait for every block; raise the first failure. Returns the ids in order."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self._pool.shutdown(wait=True)
        return self.block_ids

    def abort(self) -> None:
        """Stop staging: drop queued blocks, wait for those on the wire (never left running)."""
        if self._reserved:  # a block was being filled when the upload failed
            self._reserved = False
            self._release()
        for future in self._futures:
            if future.cancel():  # never ran: its slots were taken in stage(), give them back
                self._release()
        self._pool.shutdown(wait=True, cancel_futures=True)
