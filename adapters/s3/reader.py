"""Object bodies from GetObject: ranges, chunked iteration, and a one-call read()."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from ..contract import ByteRange, ObjectInfo
from ..errors import RangeNotSatisfiable
from ..streams import CHUNK_SIZE, ObjectReader
from .errors import translated

#: Bytes read from the network at a time when a body is iterated.
READ_CHUNK = CHUNK_SIZE


class S3Reader(ObjectReader):
    """An object body; `read()` takes the whole body in one call (no chunk list to join)."""

    def __init__(self, info: ObjectInfo, body: Any, where: tuple[str, str, str], *, start: int,
                 end: int) -> None:
        super().__init__(info, chunks(body, *where), start=start, end=end, on_close=body.close)
        self._body = body
        self._where = where
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        self._started = True
        return super().__iter__()

    def read(self) -> bytes:
        if self._started:
            return super().read()
        self._started = True
        try:
            with translated(*self._where):
                return self._body.read()
        finally:
            self.close()


def clean_etag(value: str | None) -> str | None:
    return value.strip('"') if value else value


def range_header(byte_range: ByteRange) -> str:
    if byte_range.suffix is not None:
        if byte_range.suffix == 0:
            raise RangeNotSatisfiable("a suffix range of 0 bytes is empty")
        return f"bytes=-{byte_range.suffix}"
    end = "" if byte_range.end is None else str(byte_range.end)
    return f"bytes={byte_range.start}-{end}"


def extent(reply: Mapping[str, Any], byte_range: ByteRange | None) -> tuple[int, int, int]:
    """(object size, first byte, last byte) of a GetObject reply."""
    content_range = reply.get("ContentRange")
    length = int(reply.get("ContentLength", 0))
    if content_range:  # "bytes 100-199/1000"
        span, _, total = content_range.split(" ", 1)[-1].partition("/")
        first, _, last = span.partition("-")
        return int(total), int(first), int(last)
    return length, 0, length - 1


def chunks(body: Any, backend: str, bucket: str, key: str) -> Iterator[bytes]:
    with translated(backend, bucket, key):
        yield from body.iter_chunks(READ_CHUNK)


def sliced(body: Any, start: int, end: int, backend: str, bucket: str,
            key: str) -> Iterator[bytes]:
    position = 0
    for chunk in chunks(body, backend, bucket, key):
        lo, hi = max(start - position, 0), min(end + 1 - position, len(chunk))
        if lo < hi:
            yield chunk[lo:hi]
        position += len(chunk)
        if position > end:
            return

