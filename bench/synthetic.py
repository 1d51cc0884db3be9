"""Two real `ObjectStore`s for drills at exit scale without the bytes on disk:

- `SyntheticStore`: a bucket of N objects whose bytes are derived from their key (generated on
  every read, never stored), listed page by page in key order like any backend;
- `DiscardStore`: a target that hashes what it receives, checks it against the bytes the key
  stands for, and keeps nothing; reading an object back regenerates those bytes.

Both go through `BaseStore` (names, metadata, ingest SHA-256), so a drill over them does the
same work per object as over a real backend, minus the network.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

from adapters.contract import (BaseStore, ByteRange, Capabilities, Feature, ListPage,
                               ObjectInfo, ObjectStore)
from adapters.errors import BucketNotFound, IntegrityError, ObjectNotFound
from adapters.listing import decode_cursor, encode_cursor
from adapters.streams import IngestStream, ObjectReader

CAPABILITIES = Capabilities(max_parts=1, min_part_size=0, max_single_put=1 << 40, lacks={
    Feature.resumable_upload: "generated and discarded bytes: nothing to resume"})


def key_of(index: int) -> str:
    return f"series/{index // 1000:05d}/image-{index:08d}.dcm"


def bytes_of(key: str, size: int) -> bytes:
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // 32 + 1))[:size]


def sha_of(key: str, size: int) -> str:
    return hashlib.sha256(bytes_of(key, size)).hexdigest()


class SyntheticStore(BaseStore):
    def __init__(self, name: str, bucket: str, count: int, size: int) -> None:
        super().__init__(name, CAPABILITIES)
        self.bucket, self.count, self.size = bucket, count, size

    def _info(self, key: str) -> ObjectInfo:
        return ObjectInfo(key=key, size=self.size, sha256=sha_of(key, self.size),
                          content_type="application/dicom", etag=None)

    def _index(self, key: str) -> int:
        try:
            index = int(key.rsplit("-", 1)[1].removesuffix(".dcm"))
        except (IndexError, ValueError):
            raise ObjectNotFound("no such object", backend=self.name, key=key) from None
        if not 0 <= index < self.count or key_of(index) != key:
            raise ObjectNotFound("no such object", backend=self.name, key=key)
        return index

    def _create_bucket(self, bucket: str) -> None:
        raise NotImplementedError("a synthetic source is read-only")

    def _delete_bucket(self, bucket: str) -> None:
        raise NotImplementedError("a synthetic source is read-only")

    def _bucket_exists(self, bucket: str) -> bool:
        return bucket == self.bucket

    def _list_buckets(self) -> list[str]:
        return [self.bucket]

    def _put(self, bucket: str, key: str, stream: IngestStream, content_type: str,
             metadata: dict[str, str]) -> ObjectInfo:
        raise NotImplementedError("a synthetic source is read-only")

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        self._index(key)
        return self._info(key)

    def _get(self, bucket: str, key: str, byte_range: ByteRange | None) -> ObjectReader:
        self._index(key)
        return ObjectReader(self._info(key), iter([bytes_of(key, self.size)]))

    def _delete(self, bucket: str, key: str) -> None:
        raise NotImplementedError("a synthetic source is read-only")

    def _list(self, bucket: str, prefix: str, delimiter: str | None, cursor: str | None,
              limit: int) -> ListPage:
        if bucket != self.bucket:
            raise BucketNotFound("no such bucket", backend=self.name, bucket=bucket)
        start = int(decode_cursor(cursor)[0]) if cursor else 0
        end = min(self.count, start + limit)
        objects = [self._info(key_of(i)) for i in range(start, end)]
        return ListPage(objects, [], encode_cursor(str(end), False) if end < self.count else None)


class DiscardStore(BaseStore):
    """Keeps nothing but counts; what it receives must be the bytes the key stands for."""

    def __init__(self, name: str, size: int) -> None:
        super().__init__(name, CAPABILITIES)
        self.size = size
        self.received = 0
        self.bytes = 0

    def _create_bucket(self, bucket: str) -> None:
        pass

    def _delete_bucket(self, bucket: str) -> None:
        pass

    def _bucket_exists(self, bucket: str) -> bool:
        return True

    def _list_buckets(self) -> list[str]:
        return []

    def _put(self, bucket: str, key: str, stream: IngestStream, content_type: str,
             metadata: dict[str, str]) -> ObjectInfo:
        for _ in stream:
            pass
        sha256 = stream.finish()
        if sha256 != sha_of(key, stream.bytes_read):
            raise IntegrityError("received bytes differ from the key's", key=key)
        self.received += 1
        self.bytes += stream.bytes_read
        return ObjectInfo(key=key, size=stream.bytes_read, sha256=sha256,
                          content_type=content_type, metadata=metadata)

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        return ObjectInfo(key=key, size=self.size, sha256=sha_of(key, self.size),
                          content_type="application/dicom")

    def _get(self, bucket: str, key: str, byte_range: ByteRange | None) -> ObjectReader:
        return ObjectReader(self._head(bucket, key), iter([bytes_of(key, self.size)]))

    def _delete(self, bucket: str, key: str) -> None:
        pass

    def _list(self, bucket: str, prefix: str, delimiter: str | None, cursor: str | None,
              limit: int) -> ListPage:
        return ListPage([], [])

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        return iter(())


def shipped(store: SyntheticStore | DiscardStore) -> dict[str, Any]:
    """What a drill's job carries for a Dask worker to build the same store (`build`)."""
    if isinstance(store, SyntheticStore):
        return {"role": "source", "bucket": store.bucket, "count": store.count,
                "size": store.size}
    return {"role": "discard", "size": store.size}


def build(name: str, data: dict[str, Any], base_dir: str) -> ObjectStore:
    """A worker's store from `shipped` data: the `BatchJob.build` of synthetic drills."""
    if data["role"] == "source":
        return SyntheticStore(name, data["bucket"], data["count"], data["size"])
    return DiscardStore(name, data["size"])
