"""Cutting one ingest stream into Static Large Object segments, without buffering a segment.

Each segment is sent as its own chunked PUT straight from the stream (memory stays at one chunk),
with its MD5 computed on the way and compared with the ETag Swift returns. The SLO manifest then
carries every segment's ETag and size, and Swift checks them again when the manifest is stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterator

from ..streams import CHUNK_SIZE, IngestStream


class PushbackSource:
    """The ingest stream with bytes already read (to decide single PUT or SLO) put back in front."""

    def __init__(self, stream: IngestStream, head: bytes = b"") -> None:
        self._stream = stream
        self._head = memoryview(head)

    def read(self, size: int) -> bytes:
        if self._head.nbytes:
            out, self._head = bytes(self._head[:size]), self._head[size:]
            return out
        return self._stream.read(size)

    def unread(self, data: bytes) -> None:
        self._head = memoryview(data + bytes(self._head))


class SegmentBody:
    """At most `limit` bytes of the source, as an iterator (swiftclient sends it chunked)."""

    def __init__(self, source: PushbackSource, limit: int) -> None:
        self._source = source
        self._limit = limit
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.length = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.length < self._limit:
            chunk = self._source.read(min(CHUNK_SIZE, self._limit - self.length))
            if not chunk:
                return
            self._md5.update(chunk)
            self.length += len(chunk)
            yield chunk

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()


@dataclass(frozen=True)
class Segment:
    container: str
    name: str
    etag: str
    size: int

    @property
    def path(self) -> str:
        return f"/{self.container}/{self.name}"


def manifest_body(segments: list[Segment]) -> bytes:
    """The JSON of `PUT ?multipart-manifest=put`."""
    return json.dumps([{"path": s.path, "etag": s.etag, "size_bytes": s.size}
                       for s in segments]).encode("utf-8")


def parse_manifest(raw: bytes) -> list[Segment]:
    """Segments of a stored manifest (`GET ?multipart-manifest=get`): names are `/container/obj`."""
    segments = []
    for item in json.loads(raw):
        container, _, name = str(item["name"]).lstrip("/").partition("/")
        segments.append(Segment(container, name, str(item["hash"]), int(item["bytes"])))
    return segments
