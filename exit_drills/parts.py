"""Copy one large object through an upload session, so that a killed drill resumes from the
last part the target acknowledged instead of from byte 0.

A drill sends an object in parts when the target honours upload sessions
(Feature.resumable_upload), the object is larger than the target's single-request threshold, and
the source recorded its SHA-256 (the session announces it at the start; objects written by other
tools, without one, take the target's plain `put`). The session is written down (the `Sessions`
book: the checkpoint, or the coordinator through Dask) before any part leaves, so a resumed run
finds it.

Resuming reads the source from its first byte again: the object's SHA-256 is one running hash
that cannot be restarted midway, so the parts the target holds are re-read and re-hashed but not
sent again. Each held part is kept only if its size and MD5 (as the target acknowledged it) match
the source's bytes; any other is sent again. Completion then checks the whole object's SHA-256 in
the target (adapters' `complete_upload`), and the drill reads the copy back as for every object.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Protocol

from adapters.contract import Feature, MiB, ObjectInfo, ObjectStore
from adapters.errors import StorageError
from adapters.uploads import UploadedPart

#: Parts are at least this large (fewer requests), within the target's bounds.
PART_SIZE_FLOOR = 8 * MiB
#: Parts of one object in memory at once: on the wire, and the one being read from the source.
PARTS_IN_FLIGHT = 3
#: Parts in memory across every object a process copies at once: a slot is taken before a part
#: is read from the source, so a process holds at most this many parts whatever it copies.
_PROCESS_BUDGET = threading.BoundedSemaphore(6)


@dataclass(frozen=True)
class UploadRecord:
    """What a resumed run needs to find a session again, and to know it is still the same
    source object."""

    upload_id: str
    part_size: int
    size: int
    source_etag: str | None
    sha256: str


class Sessions(Protocol):
    """Where a drill writes down its upload sessions (see the module docstring)."""

    def resume_for(self, key: str) -> UploadRecord | None: ...
    def started(self, key: str, record: UploadRecord) -> None: ...


class NoSessions:
    """For callers that keep nothing across runs: every session starts afresh."""

    def resume_for(self, key: str) -> UploadRecord | None:
        return None

    def started(self, key: str, record: UploadRecord) -> None:
        pass


@dataclass
class PartsSent:
    """What the copy read from the source: its size and the SHA-256 of every byte."""

    size: int
    sha256: str


def wants_session(target: ObjectStore, info: ObjectInfo) -> bool:
    return (target.capabilities.honours(Feature.resumable_upload) and info.sha256 is not None
            and info.size > target.capabilities.max_single_put)


def part_size(target: ObjectStore, size: int) -> int:
    caps = target.capabilities
    return min(max(caps.part_size_for(size), PART_SIZE_FLOOR), caps.max_part_size)


def send_in_parts(target: ObjectStore, bucket: str, key: str, info: ObjectInfo,
                  chunks: Iterable[bytes], sessions: Sessions, source_key: str) -> PartsSent:
    """Send `chunks` (the whole source object, whose attributes are `info`) through a session,
    resuming the one `sessions` knows for `source_key` when it is still valid."""
    assert info.sha256 is not None
    record, held = _resumable(target, bucket, key, info, sessions.resume_for(source_key))
    if record is None:
        size = part_size(target, info.size)
        upload = target.start_upload(bucket, key, sha256=info.sha256,
                                     content_type=info.content_type, metadata=info.metadata)
        record = UploadRecord(upload, size, info.size, info.etag, info.sha256)
        sessions.started(source_key, record)
    sender = _Sender(target, bucket, key, record.upload_id)
    whole = hashlib.sha256()
    total = 0
    parts = _cut(chunks, record.part_size)
    try:
        for number in itertools.count(1):
            sender.reserve()  # before the part is read: memory stays within the budget
            part = next(parts, None)
            if part is None:
                sender.unreserve()
                break
            whole.update(part)
            total += len(part)
            kept = held.get(number)
            if kept is not None and kept.holds(hashlib.md5(part, usedforsecurity=False)
                                               .hexdigest(), len(part)):
                sender.keep(kept)
            else:
                sender.send(number, part)
        sent_parts = sender.finish()
    except BaseException:
        sender.cancel()
        raise
    sha256 = whole.hexdigest()
    if total != info.size or sha256 != info.sha256:
        # The source's bytes are not those it recorded: never complete with them. The session
        # stays, so the parts already acknowledged are not lost to a transient misread.
        return PartsSent(total, sha256)
    target.complete_upload(bucket, key, record.upload_id, sent_parts, sha256=sha256)
    return PartsSent(total, sha256)


def _resumable(target: ObjectStore, bucket: str, key: str, info: ObjectInfo,
               record: UploadRecord | None) -> tuple[UploadRecord | None, dict[int, UploadedPart]]:
    """The recorded session and the parts it holds, if it is still for this very object."""
    if record is None or (record.size, record.sha256) != (info.size, info.sha256) \
            or (record.source_etag and info.etag and record.source_etag != info.etag):
        return None, {}
    try:
        held = target.list_parts(bucket, key, record.upload_id)
    except StorageError:  # UploadNotFound (completed, aborted, expired) or unreadable: a
        return None, {}   # new session; a backend that refuses it too fails the copy there
    return record, {p.number: p for p in held}


def _cut(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Regroup chunks into parts of `size` bytes (the last shorter; one empty part for none).
    A part's pieces are views of the source's chunks, joined into bytes (the SDKs want bytes)
    once: one copy of each byte, where filling a buffer and then making bytes of it took two
    (measured: the second copy was most of this function's CPU on a loaded machine)."""
    pieces: list[memoryview] = []
    filled = 0
    sent_any = False
    for chunk in chunks:
        view = memoryview(chunk)
        while view.nbytes:
            take = min(view.nbytes, size - filled)
            pieces.append(view[:take])
            filled += take
            view = view[take:]
            if filled == size:
                part, pieces, filled = b"".join(pieces), [], 0
                yield part
                sent_any = True
    if pieces or not sent_any:
        part, pieces = b"".join(pieces), []
        yield part


class _Sender:
    """Sends parts with at most PARTS_IN_FLIGHT in memory for this object and _PROCESS_BUDGET
    for the process; keeps the acknowledged ones in order."""

    def __init__(self, target: ObjectStore, bucket: str, key: str, upload_id: str) -> None:
        self._target, self._bucket, self._key, self._upload = target, bucket, key, upload_id
        self._pool = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="sortie-part")
        self._pending: set[Future[UploadedPart]] = set()
        self._done: dict[int, UploadedPart] = {}
        self._reserved = False

    def reserve(self) -> None:
        """Take the slot of the next part before reading it (waits while all are taken)."""
        while len(self._pending) >= PARTS_IN_FLIGHT - 1:
            self._collect(FIRST_COMPLETED)
        _PROCESS_BUDGET.acquire()
        self._reserved = True

    def unreserve(self) -> None:
        if self._reserved:
            self._reserved = False
            _PROCESS_BUDGET.release()

    def keep(self, part: UploadedPart) -> None:
        self._done[part.number] = part
        self.unreserve()

    def send(self, number: int, data: bytes) -> None:
        future = self._pool.submit(self._send_one, number, data)
        self._reserved = False  # the slot now belongs to the part on its way
        self._pending.add(future)

    def _send_one(self, number: int, data: bytes) -> UploadedPart:
        try:
            return self._target.upload_part(self._bucket, self._key, self._upload, number, data)
        finally:
            _PROCESS_BUDGET.release()

    def _collect(self, how: str) -> None:
        finished, self._pending = wait(self._pending, return_when=how)
        for future in finished:
            part = future.result()
            self._done[part.number] = part

    def finish(self) -> list[UploadedPart]:
        while self._pending:
            self._collect(FIRST_COMPLETED)
        self._pool.shutdown(wait=True)
        return [self._done[n] for n in sorted(self._done)]

    def cancel(self) -> None:
        self.unreserve()
        for future in self._pending:
            if future.cancel():  # never ran: give its slot back
                _PROCESS_BUDGET.release()
        self._pool.shutdown(wait=True)
        # Parts already sent stay with the session: a resumed run keeps them.


def counted(chunks: Iterable[bytes], on_bytes: Callable[[int], None] | None) -> Iterator[bytes]:
    for chunk in chunks:
        if on_bytes:
            on_bytes(len(chunk))
        yield chunk
