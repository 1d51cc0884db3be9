"""The storage contract: a few operations that every backend honours exactly.

`ObjectStore` is what callers (drills, gateway, wrappers) program against. `BaseStore` is what an
adapter subclasses: it validates names, metadata and ranges before any I/O, wraps the put body in
an `IngestStream` (SHA-256 while streaming), and leaves the adapter only the backend calls (the
`_`-prefixed methods). Wrappers (adapters/layers/) implement `ObjectStore` by delegation.

Rules every adapter must keep (checked by tests/conformance/):
- a put makes its object visible all at once, or not at all (a failing stream leaves nothing);
- the SHA-256 of the bytes is recorded at ingest and returned by `head` and `get`;
- the metadata given is the metadata read back (see adapters/metadata.py for the canonical form);
- delete of a missing key is a no-op; get/head of a missing key or bucket raise NotFound;
- listing is in lexicographic order of the keys' UTF-8 bytes, like S3;
- an upload session (start_upload ... complete_upload) shows nothing until it completes, keeps
  its acknowledged parts across processes until completed or aborted, and completes only with
  the SHA-256 announced when it started (a session started without one, as an S3 client's
  multipart upload, records the SHA-256 only where completing reads the parts: local disks).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Callable, Iterator, Mapping, Sequence

from . import metadata as md
from .errors import (Conflict, HashMismatch, InvalidRequest, RangeNotSatisfiable, TooLarge,
                     Unsupported)
from .names import check_bucket, check_key, check_prefix
from .streams import IngestStream, ObjectReader, PutSource, source_length
from .uploads import UploadedPart, UploadId, check_parts

MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_LIST_LIMIT = 1000
#: What `put(late_metadata=...)` takes: a call giving layer entries once the body is read.
LateMetadata = Callable[[], Mapping[str, str]]


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime | None = None
    etag: str | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: SHA-256 recorded by Sortie at ingest; None for objects written by other tools. Listings may
    #: leave it, metadata and content type out (`complete` is False): `head` always fills them.
    sha256: str | None = None
    complete: bool = True


@dataclass(frozen=True)
class ListPage:
    objects: list[ObjectInfo]
    #: With a delimiter: the "folders" at this level, each ending with the delimiter.
    common_prefixes: list[str]
    #: Opaque; pass it back to get the next page. None when this is the last page.
    next_cursor: str | None = None


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start`..`end` inclusive (HTTP semantics); `end=None` means to the end of the object;
    `ByteRange.last(n)` is the final n bytes."""

    start: int = 0
    end: int | None = None
    suffix: int | None = None

    def __post_init__(self) -> None:
        if self.suffix is not None:
            if self.suffix < 0:
                raise InvalidRequest(f"invalid suffix range: {self.suffix}")
        elif self.start < 0 or (self.end is not None and self.end < self.start):
            raise InvalidRequest(f"invalid byte range {self.start}-{self.end}")

    @classmethod
    def last(cls, length: int) -> "ByteRange":
        return cls(suffix=length)

    def resolve(self, size: int) -> tuple[int, int]:
        """(first, last) byte offsets for an object of `size` bytes; a range ending past the end is
        truncated, one starting past the end (or any range of an empty object) is unsatisfiable."""
        if self.suffix is not None:
            if self.suffix == 0 or size == 0:
                raise RangeNotSatisfiable(f"suffix range of {self.suffix} bytes on a {size}-byte object")
            return max(0, size - self.suffix), size - 1
        if self.start >= size:
            raise RangeNotSatisfiable(f"range starts at byte {self.start}, the object has {size} bytes")
        end = size - 1 if self.end is None else min(self.end, size - 1)
        return self.start, end


class Feature(str, Enum):
    """Parts of the contract a backend may be unable to honour, named once for every family.
    An adapter that cannot honour one says so in `Capabilities.lacks`, with the reason, and the
    conformance suite skips exactly the tests of that feature (tests/conformance/helpers.py)."""

    #: A put becomes visible all at once, or not at all: a failing stream or a hash mismatch
    #: leaves nothing, and readers never see a partial object.
    atomic_put = "atomic_put"
    #: `copy` works within the backend (server-side or streamed through Sortie).
    copy = "copy"
    #: A ranged `get` reads only that range from the backend (not the whole object).
    partial_reads = "partial_reads"
    #: `delete_bucket` and a concurrent `put` into that bucket never both succeed (the backend
    #: refuses a non-empty bucket atomically). Where it lacks this, only the gateway's own
    #: serialisation protects writes made through one gateway process.
    atomic_bucket_delete = "atomic_bucket_delete"
    #: Upload sessions (`start_upload` ... `complete_upload`): parts acknowledged by the backend
    #: survive the process that sent them, so a killed copy resumes from the last part.
    resumable_upload = "resumable_upload"
    #: `set_metadata` replaces an object's metadata in place, without rewriting its bytes, and
    #: only while the object is still the one read (its ETag), atomically on the backend.
    metadata_update = "metadata_update"


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, as data with one meaning in every family. The gateway and the
    drills read the limits to size uploads; the conformance suite reads `lacks`."""

    #: Largest number of parts of one multipart/block/segment upload (S3 10,000; Scaleway 1,000).
    max_parts: int = 10_000
    #: Smallest part Sortie sends (except the last part of an upload): the backend's own floor
    #: (S3's 5 MiB) or, where the backend has none worth using, a size that keeps requests few.
    min_part_size: int = 5 * MiB
    #: Smallest part the backend accepts in an upload session (except the last): what a caller
    #: choosing its own parts (an S3 client's multipart upload) must keep to.
    smallest_part: int = 5 * MiB
    #: Largest part the backend accepts.
    max_part_size: int = 5 * GiB
    #: Largest object the backend stores.
    max_object_size: int = 5 * TiB
    #: Largest object the adapter sends in one request; larger (or longer unknown-length)
    #: objects go through parts. Every adapter applies this same threshold to its puts.
    max_single_put: int = 5 * GiB
    #: `copy` runs inside the backend (no byte passes through Sortie); else it is streamed.
    server_side_copy: bool = False
    #: Hashes the backend computes itself (e.g. "md5" for single S3 PUTs); Sortie never relies on
    #: them for verification, it records its own SHA-256.
    native_hashes: tuple[str, ...] = ()
    #: Which user metadata names and values survive the backend (adapters/metadata.py).
    metadata: md.MetadataRules = md.JSON_RULES
    #: Features of the contract this backend cannot honour, each with the reason.
    lacks: Mapping[Feature, str] = field(default_factory=dict)

    def honours(self, feature: Feature) -> bool:
        return feature not in self.lacks

    def with_overrides(self, **changes: object) -> "Capabilities":
        return replace(self, **changes)  # type: ignore[arg-type]

    def part_size_for(self, size: int | None) -> int:
        """The part size for an object of `size` bytes (None: unknown length, so plan for the
        largest object the backend accepts) within the backend's part count and size bounds."""
        target = self.max_object_size if size is None else size
        needed = -(-target // self.max_parts)  # ceiling division
        part = max(self.min_part_size, needed)
        # Round up to a whole MiB: providers and humans both prefer it.
        part = -(-part // MiB) * MiB
        if part > self.max_part_size:
            raise TooLarge(f"{target} bytes do not fit in {self.max_parts} parts of at most "
                           f"{self.max_part_size} bytes")
        return part


class ObjectStore(abc.ABC):
    """The contract. Every method may raise only `adapters.errors.StorageError` subclasses
    (plus, from `put`, whatever the caller's own stream raises)."""

    #: Name of the configured backend (for errors, metrics and reports).
    name: str
    capabilities: Capabilities

    # buckets
    @abc.abstractmethod
    def create_bucket(self, bucket: str) -> None: ...
    @abc.abstractmethod
    def delete_bucket(self, bucket: str) -> None: ...
    @abc.abstractmethod
    def bucket_exists(self, bucket: str) -> bool: ...
    @abc.abstractmethod
    def list_buckets(self) -> list[str]: ...

    # objects
    @abc.abstractmethod
    def put(self, bucket: str, key: str, data: PutSource, *, size: int | None = None,
            content_type: str | None = None, metadata: Mapping[str, str] | None = None,
            expected_sha256: str | None = None,
            late_metadata: LateMetadata | None = None) -> ObjectInfo:
        """Store `data` as one object, visible whole or not at all. `late_metadata`: layer
        entries (`sortie:NAME`) the caller knows only once the body is read (the MD5 the S3
        front gives as ETag); called after the last byte, before the object becomes visible."""
    @abc.abstractmethod
    def get(self, bucket: str, key: str, byte_range: ByteRange | None = None) -> ObjectReader: ...
    @abc.abstractmethod
    def head(self, bucket: str, key: str) -> ObjectInfo: ...
    @abc.abstractmethod
    def delete(self, bucket: str, key: str) -> None: ...
    @abc.abstractmethod
    def list(self, bucket: str, prefix: str = "", *, delimiter: str | None = None,
             cursor: str | None = None, limit: int = MAX_LIST_LIMIT) -> ListPage: ...
    @abc.abstractmethod
    def copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo: ...
    @abc.abstractmethod
    def set_metadata(self, bucket: str, key: str, metadata: Mapping[str, str], *,
                     if_etag: str) -> None:
        """Replace the object's metadata (Feature.metadata_update) if its ETag is still
        `if_etag`, else Conflict; its bytes, content type and SHA-256 stay as they are."""

    # upload sessions (Feature.resumable_upload): an object sent in parts, possibly by several
    # processes over several runs, invisible until `complete_upload`.
    @abc.abstractmethod
    def start_upload(self, bucket: str, key: str, *, sha256: str | None,
                     content_type: str | None = None,
                     metadata: Mapping[str, str] | None = None) -> str:
        """Start a session for an object whose SHA-256 the caller announces; returns its id,
        an opaque string that stays valid in other processes until completed or aborted.
        `sha256=None`: the caller cannot know it before sending the parts (parts arriving in any
        order from an S3 client); the object then records no SHA-256, as one written by another
        tool, except where completing reads the parts anyway (local disks measure it)."""
    @abc.abstractmethod
    def upload_part(self, bucket: str, key: str, upload_id: str, number: int,
                    data: bytes) -> UploadedPart:
        """Store part `number` (1-based; sending a number again replaces that part)."""
    @abc.abstractmethod
    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[UploadedPart]:
        """The parts the backend has acknowledged, by number: [] where it holds none, and
        UploadNotFound where it knows the session is gone (Azure cannot tell the two apart)."""
    @abc.abstractmethod
    def complete_upload(self, bucket: str, key: str, upload_id: str,
                        parts: Sequence[UploadedPart], *, sha256: str | None) -> ObjectInfo:
        """Make the object of these parts (ascending numbers) visible at once; `sha256` is what
        the caller measured over their bytes and must be the one announced at the start (None
        for a session started without one)."""
    @abc.abstractmethod
    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Drop the session and its parts (a session already gone is a no-op)."""

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under `prefix`, page by page: memory stays bounded for any bucket size."""
        cursor: str | None = None
        while True:
            page = self.list(bucket, prefix, cursor=cursor)
            yield from page.objects
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def close(self) -> None:
        """Release connections and pools."""


class BaseStore(ObjectStore):
    """Validation and integrity shared by every adapter; subclasses implement the `_` methods."""

    def __init__(self, name: str, capabilities: Capabilities) -> None:
        self.name = name
        self.capabilities = capabilities

    # ---- public API: validate, then delegate -------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        self._create_bucket(check_bucket(bucket))

    def delete_bucket(self, bucket: str) -> None:
        self._delete_bucket(check_bucket(bucket))

    def bucket_exists(self, bucket: str) -> bool:
        return self._bucket_exists(check_bucket(bucket))

    def list_buckets(self) -> list[str]:
        return sorted(self._list_buckets())

    def put(self, bucket: str, key: str, data: PutSource, *, size: int | None = None,
            content_type: str | None = None, metadata: Mapping[str, str] | None = None,
            expected_sha256: str | None = None,
            late_metadata: LateMetadata | None = None) -> ObjectInfo:
        check_bucket(bucket)
        check_key(key, bucket=bucket)
        meta = md.validate(metadata)
        if expected_sha256 is not None and not _is_sha256(expected_sha256):
            raise InvalidRequest(f"expected SHA-256 {expected_sha256!r} is not 64 hex digits",
                                 bucket=bucket, key=key)
        if size is None:
            size = source_length(data)
        if size is not None:
            if size < 0:
                raise InvalidRequest(f"negative size {size}", bucket=bucket, key=key)
            if size > self.capabilities.max_object_size:
                raise TooLarge(f"{size} bytes exceed this backend's maximum object size of "
                               f"{self.capabilities.max_object_size}", backend=self.name,
                               bucket=bucket, key=key)
        stream = IngestStream(data, size=size, expected_sha256=expected_sha256,
                              on_finish=None if late_metadata is None else
                              lambda: _add_late(meta, late_metadata, bucket, key))
        return self._put(bucket, key, stream, content_type or DEFAULT_CONTENT_TYPE, meta)

    def get(self, bucket: str, key: str, byte_range: ByteRange | None = None) -> ObjectReader:
        check_bucket(bucket)
        check_key(key, bucket=bucket)
        return self._get(bucket, key, byte_range)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        check_bucket(bucket)
        return self._head(bucket, check_key(key, bucket=bucket))

    def delete(self, bucket: str, key: str) -> None:
        check_bucket(bucket)
        self._delete(bucket, check_key(key, bucket=bucket))

    def list(self, bucket: str, prefix: str = "", *, delimiter: str | None = None,
             cursor: str | None = None, limit: int = MAX_LIST_LIMIT) -> ListPage:
        check_bucket(bucket)
        check_prefix(prefix, bucket=bucket)
        if delimiter is not None and delimiter != "/":
            raise InvalidRequest(f"delimiter {delimiter!r}: only '/' is supported", bucket=bucket)
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidRequest(f"limit {limit}: must be between 1 and {MAX_LIST_LIMIT}", bucket=bucket)
        return self._list(bucket, prefix, delimiter, cursor, limit)

    def copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        check_bucket(bucket)
        check_key(key, bucket=bucket)
        check_bucket(dest_bucket)
        check_key(dest_key, bucket=dest_bucket)
        if self.capabilities.server_side_copy:
            return self._copy(bucket, key, dest_bucket, dest_key)
        return self._streamed_copy(bucket, key, dest_bucket, dest_key)

    def set_metadata(self, bucket: str, key: str, metadata: Mapping[str, str], *,
                     if_etag: str) -> None:
        check_bucket(bucket)
        check_key(key, bucket=bucket)
        meta = md.validate(metadata)
        reason = self.capabilities.lacks.get(Feature.metadata_update)
        if reason is not None:
            raise Unsupported(f"metadata updates: {reason}", backend=self.name, bucket=bucket,
                              key=key)
        self._set_metadata(bucket, key, meta, if_etag)

    def _changed(self, bucket: str, key: str, current: str | None, if_etag: str) -> None:
        """Conflict when the object's ETag is no longer the one its caller read."""
        if current != if_etag:
            raise Conflict(f"the object changed since it was read (ETag {current}, expected "
                           f"{if_etag}): its metadata was left as it is", backend=self.name,
                           bucket=bucket, key=key)

    # ---- upload sessions: validated here; the announced hash travels inside the session id ----
    def start_upload(self, bucket: str, key: str, *, sha256: str | None,
                     content_type: str | None = None,
                     metadata: Mapping[str, str] | None = None) -> str:
        self._require_uploads(bucket, key)
        meta = md.validate(metadata)
        if sha256 is not None and not _is_sha256(sha256):
            raise InvalidRequest(f"announced SHA-256 {sha256!r} is not 64 hex digits",
                                 bucket=bucket, key=key)
        announced = sha256.lower() if sha256 else None
        native = self._start_upload(bucket, key, announced,
                                    content_type or DEFAULT_CONTENT_TYPE, meta)
        return UploadId(native, announced).encode()

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int,
                    data: bytes) -> UploadedPart:
        self._require_uploads(bucket, key)
        if not 1 <= number <= self.capabilities.max_parts:
            raise InvalidRequest(f"part number {number}: must be between 1 and "
                                 f"{self.capabilities.max_parts}", bucket=bucket, key=key)
        if len(data) > self.capabilities.max_part_size:
            raise TooLarge(f"a part of {len(data)} bytes exceeds this backend's maximum part size "
                           f"of {self.capabilities.max_part_size}", backend=self.name,
                           bucket=bucket, key=key)
        session = UploadId.decode(upload_id, bucket=bucket, key=key)
        return self._upload_part(bucket, key, session.native, number, data)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[UploadedPart]:
        self._require_uploads(bucket, key)
        session = UploadId.decode(upload_id, bucket=bucket, key=key)
        return sorted(self._list_parts(bucket, key, session.native), key=lambda p: p.number)

    def complete_upload(self, bucket: str, key: str, upload_id: str,
                        parts: Sequence[UploadedPart], *, sha256: str | None) -> ObjectInfo:
        self._require_uploads(bucket, key)
        session = UploadId.decode(upload_id, bucket=bucket, key=key)
        if (sha256.lower() if sha256 else None) != session.sha256:
            self.abort_upload(bucket, key, upload_id)
            raise HashMismatch(f"the parts hash to {sha256}, the upload announced "
                               f"{session.sha256}: nothing was stored", backend=self.name,
                               bucket=bucket, key=key)
        check_parts(parts, self.capabilities.smallest_part, bucket=bucket, key=key)
        return self._complete_upload(bucket, key, session.native, list(parts), session.sha256)

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self._require_uploads(bucket, key)
        self._abort_upload(bucket, key, UploadId.decode(upload_id, bucket=bucket, key=key).native)

    def _require_uploads(self, bucket: str, key: str) -> None:
        check_bucket(bucket)
        check_key(key, bucket=bucket)
        reason = self.capabilities.lacks.get(Feature.resumable_upload)
        if reason is not None:
            raise Unsupported(f"upload sessions: {reason}", backend=self.name, bucket=bucket,
                              key=key)

    # ---- shared helpers ----------------------------------------------------------------------
    def _streamed_copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        with self.get(bucket, key) as body:
            info = body.info
            # The announced hash makes the copy fail rather than store bytes that changed on the way.
            # iter(): an ObjectReader's read() takes no size, so it must be consumed as chunks.
            return self.put(dest_bucket, dest_key, iter(body), size=info.size,
                            content_type=info.content_type, metadata=info.metadata,
                            expected_sha256=info.sha256)

    # ---- what an adapter implements ----------------------------------------------------------
    @abc.abstractmethod
    def _create_bucket(self, bucket: str) -> None: ...
    @abc.abstractmethod
    def _delete_bucket(self, bucket: str) -> None: ...
    @abc.abstractmethod
    def _bucket_exists(self, bucket: str) -> bool: ...
    @abc.abstractmethod
    def _list_buckets(self) -> list[str]: ...
    @abc.abstractmethod
    def _put(self, bucket: str, key: str, stream: IngestStream, content_type: str,
             metadata: dict[str, str]) -> ObjectInfo:
        """Store the stream; call `stream.finish()` before the object becomes visible."""
    @abc.abstractmethod
    def _get(self, bucket: str, key: str, byte_range: ByteRange | None) -> ObjectReader: ...
    @abc.abstractmethod
    def _head(self, bucket: str, key: str) -> ObjectInfo: ...
    @abc.abstractmethod
    def _delete(self, bucket: str, key: str) -> None: ...
    @abc.abstractmethod
    def _list(self, bucket: str, prefix: str, delimiter: str | None, cursor: str | None,
              limit: int) -> ListPage: ...

    def _copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        """Server-side copy; only called when capabilities.server_side_copy is True."""
        return self._streamed_copy(bucket, key, dest_bucket, dest_key)

    def _set_metadata(self, bucket: str, key: str, metadata: dict[str, str],
                      if_etag: str) -> None:
        raise Unsupported("metadata updates are not implemented", backend=self.name)

    # Upload sessions, for adapters that honour Feature.resumable_upload. `native` is the
    # adapter's own session id; the sha256 given to `_start_upload` and `_complete_upload` is the
    # one announced (checked against the caller's measurement before `_complete_upload`), or None.
    def _start_upload(self, bucket: str, key: str, sha256: str | None, content_type: str,
                      metadata: dict[str, str]) -> str:
        raise Unsupported("upload sessions are not implemented", backend=self.name)

    def _upload_part(self, bucket: str, key: str, native: str, number: int,
                     data: bytes) -> UploadedPart:
        raise Unsupported("upload sessions are not implemented", backend=self.name)

    def _list_parts(self, bucket: str, key: str, native: str) -> list[UploadedPart]:
        raise Unsupported("upload sessions are not implemented", backend=self.name)

    def _complete_upload(self, bucket: str, key: str, native: str, parts: list[UploadedPart],
                         sha256: str | None) -> ObjectInfo:
        raise Unsupported("upload sessions are not implemented", backend=self.name)

    def _abort_upload(self, bucket: str, key: str, native: str) -> None:
        raise Unsupported("upload sessions are not implemented", backend=self.name)


def _add_late(meta: dict[str, str], late: LateMetadata, bucket: str, key: str) -> None:
    """Merge a put's late entries into the metadata its adapter is about to store (the same
    dict: adapters encode their metadata after `IngestStream.finish()`)."""
    entries = dict(late())
    if not all(md.is_layer_key(name) for name in entries):
        raise InvalidRequest(f"late metadata holds layer entries only, not {sorted(entries)}",
                             bucket=bucket, key=key)
    merged = md.validate({**meta, **entries})
    meta.clear()
    meta.update(merged)


def _is_sha256(value: object) -> bool:
    return (isinstance(value, str) and len(value) == 64
            and all(c in "0123456789abcdefABCDEF" for c in value))
