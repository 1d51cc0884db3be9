"""Copy one object source -> target, streaming, reading the source exactly once.

The source body is handed straight to the target's `put` as an iterator, with the source's size,
content type and metadata, so the target adapter picks its own multipart path for large objects
and no object is ever held in memory. The source's recorded SHA-256 is announced to the target,
whose ingest hashes the bytes (once: nothing else hashes them on the way) and refuses to store
bytes that do not match it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

from adapters.contract import ObjectStore
from adapters.errors import HashMismatch, IntegrityError
from adapters.streams import ObjectReader

from .parts import Sessions, counted, send_in_parts, wants_session

ByteCounter = Callable[[int], None]


@dataclass
class Observed:
    """What was actually seen of one object: its bytes' size and SHA-256, and its attributes."""

    size: int
    sha256: str
    content_type: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: The SHA-256 the backend has on record for it (None for objects written by other tools).
    recorded_sha256: str | None = None


class HashingBody:
    """Iterate a body, hashing and counting the bytes as they go by."""

    def __init__(self, body: ObjectReader, on_bytes: ByteCounter | None = None) -> None:
        self._body = body
        self._hash = hashlib.sha256()
        self.size = 0
        self._on_bytes = on_bytes

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._hash.update(chunk)
            self.size += len(chunk)
            if self._on_bytes:
                self._on_bytes(len(chunk))
            yield chunk

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class SourceCorrupt(Exception):
    """The source's bytes do not match the SHA-256 recorded when they were stored."""


def copy_object(source: ObjectStore, source_bucket: str, key: str, target: ObjectStore,
                target_bucket: str, target_key: str, on_bytes: ByteCounter | None = None,
                on_written: Callable[[], None] | None = None,
                sessions: Sessions | None = None) -> Observed:
    with source.get(source_bucket, key) as body:
        info = body.info
        if sessions is not None and wants_session(target, info):
            return _copy_in_parts(body, key, target, target_bucket, target_key, on_bytes,
                                  on_written, sessions)
        # Each byte is hashed once, by the target's ingest (adapters/streams.IngestStream): it
        # refuses bytes that do not match the source's recorded SHA-256, and returns the hash of
        # what it stored. Here the bytes are only counted.
        counted = CountingBody(body, on_bytes)
        try:
            stored = target.put(target_bucket, target_key, counted, size=info.size,
                                content_type=info.content_type, metadata=dict(info.metadata),
                                expected_sha256=info.sha256)
        except IntegrityError as exc:
            # The target refused the bytes: a whole body that does not match its recorded hash
            # means the source itself is at fault.
            if info.sha256 and counted.size == info.size and isinstance(exc, HashMismatch):
                raise SourceCorrupt(
                    f"the source bytes do not hash to the SHA-256 {info.sha256} recorded at "
                    f"ingest: the source copy is corrupt; nothing was written ({exc})") from exc
            raise
    if on_written:
        on_written()
    if stored.sha256 is None:  # the contract says every put records it; never trust a gap
        raise IntegrityError("the target recorded no SHA-256 for the copy", key=target_key)
    return Observed(size=counted.size, sha256=stored.sha256, content_type=info.content_type,
                    metadata=dict(info.metadata), recorded_sha256=info.sha256)


def _copy_in_parts(body: ObjectReader, key: str, target: ObjectStore, target_bucket: str,
                   target_key: str, on_bytes: ByteCounter | None,
                   on_written: Callable[[], None] | None, sessions: Sessions) -> Observed:
    """A large object through an upload session (exit_drills/parts.py): resumable by part."""
    info = body.info
    sent = send_in_parts(target, target_bucket, target_key, info, counted(body, on_bytes),
                         sessions, key)
    if sent.sha256 != info.sha256 or sent.size != info.size:
        raise SourceCorrupt(
            f"the source bytes ({sent.size} bytes, SHA-256 {sent.sha256}) do not match the "
            f"{info.size} bytes and SHA-256 {info.sha256} recorded at ingest: the source copy "
            "is corrupt; nothing was written")
    if on_written:
        on_written()
    return Observed(size=sent.size, sha256=sent.sha256, content_type=info.content_type,
                    metadata=dict(info.metadata), recorded_sha256=info.sha256)


class CountingBody:
    """Iterate a body, counting the bytes as they go by (for progress and sizes)."""

    def __init__(self, body: ObjectReader, on_bytes: ByteCounter | None = None) -> None:
        self._body = body
        self._on_bytes = on_bytes
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self.size += len(chunk)
            if self._on_bytes:
                self._on_bytes(len(chunk))
            yield chunk
