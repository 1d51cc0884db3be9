"""Cutting a put's stream into multipart parts, in memory or on disk.

Parts up to `PART_MEMORY` bytes are plain `bytes`. Larger ones (a provider with few parts, such
as Scaleway's 1,000, needs 1 GiB parts for a 1 TB object) would make memory grow with the object,
so they live in a file: a slice of the put's spool, or a temporary file of their own, and are
sent as seekable file objects (botocore reads them for signing and checksums, then again to send).
Memory then stays at a few small buffers per part in flight, whatever the part size.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from typing import IO, Iterable, Iterator, Union

from ..streams import readinto_by_read

#: Largest part kept in memory.
PART_MEMORY = 64 * 1024 * 1024
_COPY = 1024 * 1024


class FileSlice(io.RawIOBase):
    """`length` bytes of an open file from `offset`, as a seekable file of its own; reads use
    os.pread, so several slices of one file can be read by different threads at once."""

    def __init__(self, fd: int, offset: int, length: int, owner: IO[bytes] | None = None) -> None:
        super().__init__()
        self._fd = fd
        self._offset = offset
        self._length = length
        self._position = 0
        #: A temporary file this slice owns and closes (None for a slice of a shared spool).
        self._owner = owner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def __len__(self) -> int:
        return self._length

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = min(max(0, base + offset), self._length)
        return self._position

    def read(self, size: int = -1) -> bytes:
        left = self._length - self._position
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        data = os.pread(self._fd, size, self._offset + self._position)
        self._position += len(data)
        return data

    def readinto(self, buffer: "bytearray | memoryview") -> int:  # type: ignore[override]
        return readinto_by_read(self, buffer)

    def close(self) -> None:
        if self._owner is not None:
            self._owner.close()
            self._owner = None
        super().close()


Part = Union[bytes, FileSlice]


def part_length(part: Part) -> int:
    return len(part)


def part_md5(part: Part) -> bytes:
    if isinstance(part, bytes):
        return hashlib.md5(part).digest()
    digest = hashlib.md5()
    part.seek(0)
    for piece in iter(lambda: part.read(_COPY), b""):
        digest.update(piece)
    part.seek(0)
    return digest.digest()


def close_part(part: Part) -> None:
    if isinstance(part, FileSlice):
        part.close()


class Chunker:
    """Cuts a stream of chunks into pieces of a given size, copying each byte once (reading an
    IngestStream with read(n) re-concatenates its buffer for every chunk)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._left = b""

    def take(self, size: int) -> bytes:
        """The next `size` bytes in memory, fewer at the end of the stream."""
        pieces, have = [self._left], len(self._left)
        while have < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            pieces.append(chunk)
            have += len(chunk)
        data = b"".join(pieces)
        data, self._left = data[:size], data[size:]
        return data

    def take_part(self, size: int) -> Part:
        """The next part: in memory up to PART_MEMORY bytes, else in a temporary file."""
        if size <= PART_MEMORY:
            return self.take(size)
        spill = tempfile.TemporaryFile(prefix="sortie-s3-part-")
        try:
            have = 0
            while have < size:
                piece = self.take(min(_COPY, size - have))
                if not piece:
                    break
                spill.write(piece)
                have += len(piece)
            spill.flush()
        except BaseException:
            spill.close()
            raise
        return FileSlice(spill.fileno(), 0, have, owner=spill)

    def rest(self) -> Iterator[bytes]:
        if self._left:
            left, self._left = self._left, b""
            yield left
        yield from self._chunks


def spool_parts(spool: IO[bytes], size: int, part_size: int) -> Iterator[Part]:
    """The parts of a spooled object: read into memory when small, slices of the file when not."""
    if part_size > PART_MEMORY:
        rollover = getattr(spool, "rollover", None)
        if callable(rollover):
            rollover()  # make it a real file, so slices can pread it
        spool.flush()
        fd = spool.fileno()
        for offset in range(0, size, part_size):
            yield FileSlice(fd, offset, min(part_size, size - offset))
        return
    spool.seek(0)
    for _ in range(max(1, -(-size // part_size))):
        yield spool.read(part_size)
