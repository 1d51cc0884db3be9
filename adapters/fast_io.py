"""A faster data path for whole-object GETs and single PUTs: obstore (the Python bindings of Rust's
`object_store`), which does the HTTP, signing and body handling in Rust with the GIL released.

Why: a drill's CPU per small object is almost all SDK code (botocore for an S3 GET, azure-core's
pipeline for an Azure PUT and GET: 4-5 ms of CPU per object; obstore does the same three requests
in about 0.6 ms), and that CPU is what a drill on a few cores runs out of.

What it serves, and what stays on the family's SDK: the S3 and Azure stores hand a call here only
when obstore keeps the contract exactly, and do everything else themselves (listing, HEAD,
multipart and block uploads, ranged reads, copies, buckets):
- keys that object_store would rewrite are never sent here (`usable`): an empty segment (`a//b`
  is refused), a leading or trailing `/` (dropped), a backslash (turned into `/`);
- metadata names: object_store carries headers through the `http` crate, which lowercases names.
  S3 lowercases them anyway; the Azure store sends only lowercase names here and reads back here
  only what it knows to be lowercase (see its store);
- errors are translated once, here, into the contract's classes (by the HTTP status the message
  carries; no status: the network failed, TransientError).
No SDK retries here either: obstore's own are off, the registry's retry layer retries.

PUTs through this path carry no Content-MD5 (object_store does not send one): over HTTPS the TLS
record MAC protects the bytes in transit, a drill reads every object back, and gateway reads are
checked against the recorded SHA-256.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Callable, ContextManager, Iterator, Mapping

import obstore
import obstore.exceptions as obx

from .contract import ObjectInfo
from .errors import (AuthError, BucketNotFound, ObjectNotFound, RangeNotSatisfiable, StorageError,
                     TransientError, by_status, translating)
from .streams import ObjectReader

#: Chunks of a streamed GET body (object_store's default is much smaller for small objects).
CHUNK = 1024 * 1024
#: A GET here asks for at most this many bytes: object_store's timeout covers a whole request,
#: body included (it has no idle-read timeout), so one request must stay short enough for it.
#: Larger objects continue on the SDK, from this offset, pinned to the same ETag.
HEAD_BYTES = 8 * 1024 * 1024
#: Attribute names object_store gives a meaning of its own; any other is user metadata.
STANDARD_ATTRIBUTES = {"Content-Disposition", "Content-Encoding", "Content-Language",
                       "Content-Type", "Cache-Control", "Storage-Class"}
_STANDARD_LOWER = {name.lower() for name in STANDARD_ATTRIBUTES}
_STATUS = re.compile(r"status code: (\d{3})")
_CODE = re.compile(r"<Code>([A-Za-z]+)</Code>")
_NO_BUCKET = {"NoSuchBucket", "ContainerNotFound"}


def client_options(endpoint: str | None, connect_timeout: float,
                   read_timeout: float) -> dict[str, Any]:
    return {"allow_http": bool(endpoint and endpoint.startswith("http://")),
            "connect_timeout": f"{connect_timeout}s",
            # For a whole request, body included: `HEAD_BYTES` keeps each one short.
            "timeout": f"{read_timeout}s"}


#: obstore's own retries off: the registry's retry layer retries every store call.
NO_RETRIES = {"max_retries": 0}


def usable(name: str) -> bool:
    """Whether object_store sends `name` unchanged (see the module docstring)."""
    return (bool(name) and "\\" not in name and not name.startswith("/")
            and not name.endswith("/") and "//" not in name)


def attributes(content_type: str | None, native: Mapping[str, str]) -> dict[str, str] | None:
    """A PUT's attributes, or None when a metadata name could be taken for a standard attribute
    or is not lowercase (the caller then uses its SDK)."""
    if any(name.lower() in _STANDARD_LOWER or name != name.lower() for name in native):
        return None
    return {**({"Content-Type": content_type} if content_type else {}), **native}


def split(attributes: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """A GET's attributes -> (content type, native metadata)."""
    native = {name: value for name, value in attributes.items()
              if name not in STANDARD_ATTRIBUTES}
    return attributes.get("Content-Type"), native


@dataclass(frozen=True)
class Fetched:
    """A GET's answer: the first bytes of the object (all of it when `complete`), and what the
    answer said of the object."""

    content_type: str | None
    #: User and Sortie metadata as the backend named them (lowercased, see the docstring).
    native: dict[str, str]
    size: int
    etag: str | None
    last_modified: datetime | None
    chunks: Iterator[bytes]

    @property
    def complete(self) -> bool:
        return self.size <= HEAD_BYTES


@dataclass(frozen=True)
class Stored:
    """A PUT's answer (object_store returns no time of writing)."""

    etag: str | None


class FastPath:
    """obstore stores of one backend, one per bucket (object_store binds a store to a bucket).
    `get` and `put` answer None where the caller's SDK must do the call instead."""

    def __init__(self, backend: str, make_store: Callable[[str], Any], *,
                 auth_hint: str = "check the credentials") -> None:
        self.backend = backend
        self._translate = partial(translate, auth_hint=auth_hint)
        self._make_store = make_store
        self._stores: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _store(self, bucket: str) -> Any:
        with self._lock:
            store = self._stores.get(bucket)
            if store is None:
                store = self._stores[bucket] = self._make_store(bucket)
            return store

    def get(self, bucket: str, name: str, key: str) -> Fetched | None:
        """The object's first `HEAD_BYTES` (all of a smaller object); None for a name obstore
        would rewrite, or an empty object (it answers 416 to any range)."""
        if not usable(name):
            return None
        try:
            with self._translated(bucket, key):
                result = obstore.get(self._store(bucket), name,
                                     options={"range": (0, HEAD_BYTES)})
                meta = result.meta
                stream = result.stream(min_chunk_size=CHUNK)
        except RangeNotSatisfiable:
            return None
        content_type, native = split(result.attributes)
        return Fetched(content_type=content_type, native=native, size=int(meta["size"]),
                       etag=meta.get("e_tag"), last_modified=meta.get("last_modified"),
                       chunks=self._chunks(stream, bucket, key))

    def _chunks(self, stream: Any, bucket: str, key: str) -> Iterator[bytes]:
        while True:
            with self._translated(bucket, key):
                chunk = next(stream, None)
            if chunk is None:
                return
            yield bytes(chunk)

    def put(self, bucket: str, name: str, key: str, data: bytes, content_type: str | None,
            native: Mapping[str, str]) -> Stored | None:
        """One PUT of `data`; None for a name obstore would rewrite or metadata names it would
        change (see `attributes`)."""
        given = attributes(content_type, native)
        if given is None or not usable(name):
            return None
        with self._translated(bucket, key):
            result = obstore.put(self._store(bucket), name, data, attributes=given,
                                 use_multipart=False)
        return Stored(etag=result.get("e_tag"))

    def _translated(self, bucket: str, key: str) -> ContextManager[None]:
        return translating(_is_obstore_error, self._translate, backend=self.backend,
                           bucket=bucket, key=key)


def reader(info: ObjectInfo, fetched: Fetched, rest: Callable[[], Iterator[bytes]],
           *, backend: str, bucket: str) -> ObjectReader:
    """The whole object: the fetched first bytes, then `rest()` (the SDK's read from
    `HEAD_BYTES`, same ETag) when there is more; checked to add up to its size."""
    body = fetched.chunks if fetched.complete else itertools.chain(fetched.chunks, rest())
    return ObjectReader(info, exactly(body, fetched.size, backend=backend, bucket=bucket,
                                      key=info.key),
                        start=0, end=fetched.size - 1)


def _is_obstore_error(exc: BaseException) -> bool:
    # obstore raises its own classes, and builtins (FileNotFoundError, ...) for some of them.
    return isinstance(exc, (obx.BaseError, OSError))


def translate(exc: BaseException, *, backend: str, bucket: str, key: str,
              auth_hint: str = "check the credentials") -> StorageError:
    text = str(exc)
    where = {"backend": backend, "bucket": bucket, "key": key}
    said = text.splitlines()[0][:300] if text else type(exc).__name__
    status = _STATUS.search(text)
    code = _CODE.search(text)
    if isinstance(exc, (FileNotFoundError, obx.NotFoundError)) or (status and status.group(1) == "404"):
        if code and code.group(1) in _NO_BUCKET:
            return BucketNotFound("no such bucket", **where)
        return ObjectNotFound("no such object", **where)
    if status and status.group(1) in ("401", "403"):
        return AuthError(f"the backend refused the credentials or the permission: {auth_hint} "
                         f"({said})", **where)
    if status:
        return by_status(int(status.group(1)), said, **where)
    # No answer from the server: connection refused or reset, timeout, body cut short.
    return TransientError(f"the endpoint could not be reached or stopped answering ({said})",
                          **where)


def exactly(chunks: Iterator[bytes], size: int, *, backend: str, bucket: str,
            key: str) -> Iterator[bytes]:
    """`chunks`, checked to add up to `size`: a body that ends early (or runs long) fails."""
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > size:
            break
        yield chunk
    if seen != size:
        raise TransientError(f"the body held {seen} bytes where the object has {size}",
                             backend=backend, bucket=bucket, key=key)


def changed(backend: str, bucket: str, key: str) -> TransientError:
    """The object was replaced between the first bytes and the rest: read it again."""
    return TransientError("the object changed while it was being read", backend=backend,
                          bucket=bucket, key=key)
