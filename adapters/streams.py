"""Byte streams in and out of the contract: hashing while streaming, and readable object bodies."""

from __future__ import annotations

import hashlib
import io
from typing import IO, TYPE_CHECKING, Callable, Generator, Iterable, Iterator, Union

from .errors import HashMismatch, IntegrityError

if TYPE_CHECKING:
    from .contract import ObjectInfo

CHUNK_SIZE = 1024 * 1024

#: What `put` accepts: bytes, a readable binary file, or any iterable of byte chunks (unknown length).
PutSource = Union[bytes, bytearray, memoryview, IO[bytes], Iterable[bytes]]


def iter_source(source: PutSource, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Turn any accepted source into an iterator of non-empty byte chunks."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for start in range(0, len(view), chunk_size):
            yield bytes(view[start:start + chunk_size])
        return
    read = getattr(source, "read", None)
    if callable(read):
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return
            yield bytes(chunk)
    for chunk in source:  # type: ignore[union-attr]
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"a put stream must yield bytes, got {type(chunk).__name__}")
        if chunk:
            yield bytes(chunk)


def source_length(source: PutSource) -> int | None:
    """The length of a source when it can be known without consuming it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    return None


def window(chunks: Iterable[bytes], skip: int, length: int) -> Generator[bytes, None, int]:
    """The `length` bytes of `chunks` that follow the first `skip` (for backends that may
    ignore a Range and send the whole body). Returns how many bytes were missing: 0 when the
    body held the whole window, more when it ended early (the caller says why that is an error).
    """
    remaining = length
    for chunk in chunks:
        if skip:
            cut = min(skip, len(chunk))
            chunk, skip = chunk[cut:], skip - cut
        chunk = chunk[:remaining]
        remaining -= len(chunk)
        if chunk:
            yield chunk
        if remaining <= 0:
            break
    return remaining


class IngestStream(io.RawIOBase):
    """The bytes of one put, hashed with SHA-256 as they pass.

    Adapters consume it either as an iterator of chunks or as a readable file (`read(n)`), then
    call `finish()` *before* making the object visible: it checks the announced size and SHA-256
    and raises IntegrityError on a mismatch, so a wrong upload is never committed.
    """

    def __init__(self, source: PutSource, *, size: int | None = None,
                 expected_sha256: str | None = None, chunk_size: int = CHUNK_SIZE,
                 on_finish: Callable[[], None] | None = None) -> None:
        super().__init__()
        #: Run once the last byte is checked, before the adapter commits: the contract adds the
        #: caller's late metadata entries there (`put(late_metadata=...)`). An adapter that
        #: encodes its metadata before `finish()` must not take this stream that way.
        self.on_finish = on_finish
        self._chunks = iter_source(source, chunk_size)
        self._hash = hashlib.sha256()
        self._pending = b""
        self.size_hint = size
        self.expected_sha256 = expected_sha256.lower() if expected_sha256 else None
        self.bytes_read = 0
        self._exhausted = False

    # -- iterator interface -------------------------------------------------------------------
    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        if self._pending:
            pending, self._pending = self._pending, b""
            yield pending
        for chunk in self._chunks:
            yield self._account(chunk)
        self._exhausted = True

    def _account(self, chunk: bytes) -> bytes:
        self._hash.update(chunk)
        self.bytes_read += len(chunk)
        if self.size_hint is not None and self.bytes_read > self.size_hint:
            raise IntegrityError(
                f"the stream is longer than the announced {self.size_hint} bytes")
        return chunk

    # -- file interface (for SDKs that want read()) --------------------------------------------
    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is None or size < 0:
            parts = [self._pending] + [self._account(c) for c in self._chunks]
            self._pending = b""
            self._exhausted = True
            return b"".join(parts)
        while len(self._pending) < size and not self._exhausted:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._exhausted = True
                break
            self._pending += self._account(chunk)
        out, self._pending = self._pending[:size], self._pending[size:]
        return out

    def readinto(self, buffer: "bytearray | memoryview") -> int:  # type: ignore[override]
        return readinto_by_read(self, buffer)

    # -- completion ----------------------------------------------------------------------------
    def finish(self) -> str:
        """Drain what is left, check size and hash, and return the SHA-256 hex digest."""
        for _ in self:
            pass
        if self.size_hint is not None and self.bytes_read != self.size_hint:
            raise IntegrityError(
                f"received {self.bytes_read} bytes, {self.size_hint} were announced")
        digest = self._hash.hexdigest()
        if self.expected_sha256 is not None and digest != self.expected_sha256:
            raise HashMismatch(
                f"SHA-256 of the received bytes is {digest}, the caller announced "
                f"{self.expected_sha256}; nothing was stored")
        if self.on_finish is not None:
            on_finish, self.on_finish = self.on_finish, None
            on_finish()
        return digest


class ObjectReader:
    """The body of a `get`: an iterator of byte chunks with the object's info.

    Use it as a context manager, or call `close()`, so the backend connection is released.
    `read()` returns everything at once (for small objects and tests).
    """

    def __init__(self, info: "ObjectInfo", chunks: Iterable[bytes],
                 *, start: int = 0, end: int | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        self.info = info
        #: First and last byte (inclusive) of the object this body holds.
        self.start = start
        self.end = end if end is not None else max(info.size - 1, -1)
        self._chunks = iter(chunks)
        self._on_close = on_close
        self._closed = False

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._chunks:
                if chunk:
                    yield chunk
        finally:
            self.close()

    def read(self) -> bytes:
        return b"".join(self)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close = getattr(self._chunks, "close", None)
            if callable(close):
                close()
            if self._on_close:
                self._on_close()

    def __enter__(self) -> "ObjectReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def readinto_by_read(stream: io.RawIOBase, buffer: "bytearray | memoryview") -> int:
    """`readinto` for raw streams whose natural operation is `read(n)`."""
    data = stream.read(len(buffer)) or b""
    buffer[:len(data)] = data
    return len(data)
