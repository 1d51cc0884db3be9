"""What every layer shares: it wraps one store (`inner`) and passes every call through unless it
has something to add. A layer overrides only the operations its behaviour concerns."""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

from ..contract import (MAX_LIST_LIMIT, ByteRange, LateMetadata, ListPage, ObjectInfo, ObjectStore)
from ..streams import ObjectReader, PutSource
from ..uploads import UploadedPart


class Layer(ObjectStore):
    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities

    def create_bucket(self, bucket: str) -> None:
        self.inner.create_bucket(bucket)

    def delete_bucket(self, bucket: str) -> None:
        self.inner.delete_bucket(bucket)

    def bucket_exists(self, bucket: str) -> bool:
        return self.inner.bucket_exists(bucket)

    def list_buckets(self) -> list[str]:
        return self.inner.list_buckets()

    def put(self, bucket: str, key: str, data: PutSource, *, size: int | None = None,
            content_type: str | None = None, metadata: Mapping[str, str] | None = None,
            expected_sha256: str | None = None,
            late_metadata: LateMetadata | None = None) -> ObjectInfo:
        return self.inner.put(bucket, key, data, size=size, content_type=content_type,
                              metadata=metadata, expected_sha256=expected_sha256,
                              late_metadata=late_metadata)

    def get(self, bucket: str, key: str, byte_range: ByteRange | None = None) -> ObjectReader:
        return self.inner.get(bucket, key, byte_range)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self.inner.head(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        self.inner.delete(bucket, key)

    def list(self, bucket: str, prefix: str = "", *, delimiter: str | None = None,
             cursor: str | None = None, limit: int = MAX_LIST_LIMIT) -> ListPage:
        return self.inner.list(bucket, prefix, delimiter=delimiter, cursor=cursor, limit=limit)

    def copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        return self.inner.copy(bucket, key, dest_bucket, dest_key)

    def set_metadata(self, bucket: str, key: str, metadata: Mapping[str, str], *,
                     if_etag: str) -> None:
        self.inner.set_metadata(bucket, key, metadata, if_etag=if_etag)

    def start_upload(self, bucket: str, key: str, *, sha256: str | None,
                     content_type: str | None = None,
                     metadata: Mapping[str, str] | None = None) -> str:
        return self.inner.start_upload(bucket, key, sha256=sha256, content_type=content_type,
                                       metadata=metadata)

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int,
                    data: bytes) -> UploadedPart:
        return self.inner.upload_part(bucket, key, upload_id, number, data)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[UploadedPart]:
        return self.inner.list_parts(bucket, key, upload_id)

    def complete_upload(self, bucket: str, key: str, upload_id: str,
                        parts: Sequence[UploadedPart], *, sha256: str | None) -> ObjectInfo:
        return self.inner.complete_upload(bucket, key, upload_id, parts, sha256=sha256)

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.inner.abort_upload(bucket, key, upload_id)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        # Backend-specific extras (e.g. S3Store.delete_many, settings) stay reachable.
        return getattr(self.inner, name)


def chain(store: ObjectStore) -> Iterator[ObjectStore]:
    """`store`, then each store it wraps, down to the adapter."""
    current: ObjectStore | None = store
    while current is not None:
        yield current
        inner = getattr(current, "inner", None)
        current = inner if isinstance(inner, ObjectStore) else None


def has_layer(store: ObjectStore, layer: type) -> bool:
    """Whether `layer` wraps `store` anywhere in its chain of stores."""
    return any(isinstance(member, layer) for member in chain(store))


def innermost(store: ObjectStore) -> ObjectStore:
    """The adapter under every layer (for tests and tools that inspect the backend itself)."""
    *_, last = chain(store)
    return last
