"""`aws-chunked` request bodies: what boto3 (>= 1.36, by default), the AWS CLI and other SDKs send
on PutObject and UploadPart.

    body    = chunk* last-chunk trailer* CRLF
    chunk   = hex-size [";chunk-signature=" sig] CRLF data CRLF
    last    = "0" [";chunk-signature=" sig] CRLF
    trailer = name ":" value CRLF            (STREAMING-UNSIGNED-PAYLOAD-TRAILER)

Signed streams (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) chain each chunk's signature to the previous
one from the request's own signature, so a chunk altered, dropped, reordered or replayed from
another request fails. Trailing checksums (x-amz-checksum-crc32 / crc32c / sha1 / sha256) are
computed over the decoded bytes and compared at the end. Every failure raises before the stream
ends, so the store keeps nothing of the upload.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from typing import Iterable, Iterator

from .sigv4 import Credentials, chunk_signature

#: Refuse chunk headers and trailers longer than this (a stream that never says its size).
MAX_LINE = 4096


class ChunkError(Exception):
    """A malformed or dishonest aws-chunked body; `code` is the S3 error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Checksum:
    """One of the x-amz-checksum-* a client sends with a body, measured as the body passes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._crc = 0
        self._hash = None
        if name == "x-amz-checksum-sha256":
            self._hash = hashlib.sha256()
        elif name == "x-amz-checksum-sha1":
            self._hash = hashlib.sha1()  # noqa: S324 - the client's chosen checksum, not security
        elif name != "x-amz-checksum-crc32":
            raise ChunkError("InvalidRequest", f"checksum {name!r} is not supported "
                                               "(crc32, sha1, sha256 are)")

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)
        else:
            self._crc = zlib.crc32(data, self._crc)

    def value(self) -> str:
        raw = self._hash.digest() if self._hash is not None else self._crc.to_bytes(4, "big")
        return base64.b64encode(raw).decode("ascii")


def decode(raw: Iterable[bytes], *, signed: Credentials | None = None,
           trailer: str | None = None) -> Iterator[bytes]:
    """The payload of an aws-chunked body; `signed` checks chunk signatures, `trailer` names the
    trailing checksum header announced in x-amz-trailer."""
    reader = _Reader(iter(raw))
    checksum = Checksum(trailer.lower()) if trailer else None
    previous = signed.seed_signature if signed else ""
    while True:
        header = reader.line()
        size_text, _, extension = header.partition(";")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ChunkError("IncompleteBody", f"bad chunk header {header[:40]!r}") from None
        data = reader.take(size)
        if signed is not None:
            claimed = extension.removeprefix("chunk-signature=")
            expected = chunk_signature(signed, previous, hashlib.sha256(data).hexdigest())
            if not hmac.compare_digest(claimed, expected):
                raise ChunkError("SignatureDoesNotMatch", "a chunk's signature does not match: "
                                 "the body was altered, reordered or replayed")
            previous = expected
        if size == 0:
            break
        if reader.take(2) != b"\r\n":
            raise ChunkError("IncompleteBody", "a chunk does not end with CRLF")
        if checksum is not None:
            checksum.update(data)
        yield data
    trailers = {}
    while True:
        line = reader.line(allow_end=True)
        if not line:
            break
        name, _, value = line.partition(":")
        trailers[name.strip().lower()] = value.strip()
    if checksum is not None:
        sent = trailers.get(checksum.name)
        if sent is None:
            raise ChunkError("InvalidRequest", f"the trailer {checksum.name} announced in "
                                               "x-amz-trailer was not sent")
        if sent != checksum.value():
            raise ChunkError("BadDigest", f"the {checksum.name} sent does not match the body "
                                          "received")


class _Reader:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()

    def _fill(self, wanted: int) -> bool:
        while len(self._buffer) < wanted:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._buffer += chunk
        return True

    def line(self, allow_end: bool = False) -> str:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                text = bytes(self._buffer[:end]).decode("latin-1")
                del self._buffer[:end + 2]
                return text
            if len(self._buffer) > MAX_LINE:
                raise ChunkError("IncompleteBody", "a chunk header or trailer is too long")
            if not self._fill(len(self._buffer) + 1):
                if allow_end and not self._buffer:
                    return ""
                raise ChunkError("IncompleteBody", "the body ended inside a chunk header")

    def take(self, size: int) -> bytes:
        if not self._fill(size):
            raise ChunkError("IncompleteBody", "the body ended inside a chunk")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


#: The checksums a client may send as headers with a body (x-amz-checksum-ALGORITHM).
CHECKSUM_HEADERS = ("x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
                    "x-amz-checksum-sha1", "x-amz-checksum-sha256")


def checked(body: Iterable[bytes], name: str, sent: str) -> Iterator[bytes]:
    """The body, then BadDigest if its checksum `name` is not `sent` (a header, not a trailer):
    raised before the last byte is handed on, so nothing is stored."""
    checksum = Checksum(name)
    pending = None
    for chunk in body:
        if pending is not None:
            yield pending
        checksum.update(chunk)
        pending = chunk
    if sent != checksum.value():
        raise ChunkError("BadDigest", f"the {name} sent does not match the body received")
    if pending is not None:
        yield pending
