"""Retry transient failures with exponential backoff, around any ObjectStore.

Composition rather than code inside each adapter: the same policy wraps S3, Azure and Swift, and
an adapter stays a plain translation of its SDK. What is retried, and why:
- reads, head, list, delete, bucket operations and copy are idempotent: retried on
  `TransientError` (the only retryable class of adapters/errors.py);
- a put is retried only when its source can be sent again unchanged (bytes, bytearray,
  memoryview); a stream or file has been consumed by the first attempt, so its failure is
  reported at once;
- upload sessions: a part is bytes and replaces any earlier part of its number, so it is
  retried like the rest; a start retried after a lost answer may leave an empty session
  behind, invisible, which the backend's expiry of unfinished uploads removes;
- a `get` is retried while opening; a body that fails mid-read is the caller's to re-request
  (with a range), since part of it was already handed out.
Backoff is exponential with full jitter, capped, and bounded by a total number of attempts.

This is the only place a store call is retried: the SDKs are told not to retry (or once at most,
see each family's client), and an error this layer has retried and given up on is marked
`persistent`, so a drill's breaker counts it without retrying it again. The registry applies the
layer once (adapters/layers/stack.py); wrapping a store that already has it is refused.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, TypeVar

from ..contract import (MAX_LIST_LIMIT, ByteRange, LateMetadata, ListPage, ObjectInfo, ObjectStore)
from ..errors import TransientError
from ..streams import ObjectReader, PutSource
from ..uploads import UploadedPart
from .base import Layer, has_layer

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a store call is tried: `attempts` in all (1 = no retry)."""

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0


DEFAULT_POLICY = RetryPolicy()


class RetryingStore(Layer):
    def __init__(self, inner: ObjectStore, policy: RetryPolicy = DEFAULT_POLICY, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if has_layer(inner, RetryingStore):
            raise ValueError(f"store {inner.name!r} already retries: the retry layer is applied "
                             "once, by adapters.registry.build_store")
        super().__init__(inner)
        self.policy = policy
        self.attempts = max(1, policy.attempts)
        self._sleep = sleep

    def _retried(self, operation: Callable[[], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return operation()
            except TransientError as exc:
                if exc.persistent:
                    raise
                if attempt == self.attempts:
                    exc.persistent = self.attempts > 1
                    raise
                delay = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
                self._sleep(random.uniform(0, delay))
        raise AssertionError("unreachable")

    # buckets
    def create_bucket(self, bucket: str) -> None:
        self._retried(lambda: self.inner.create_bucket(bucket))

    def delete_bucket(self, bucket: str) -> None:
        self._retried(lambda: self.inner.delete_bucket(bucket))

    def bucket_exists(self, bucket: str) -> bool:
        return self._retried(lambda: self.inner.bucket_exists(bucket))

    def list_buckets(self) -> list[str]:
        return self._retried(self.inner.list_buckets)

    # objects
    def put(self, bucket: str, key: str, data: PutSource, *, size: int | None = None,
            content_type: str | None = None, metadata: Mapping[str, str] | None = None,
            expected_sha256: str | None = None,
            late_metadata: LateMetadata | None = None) -> ObjectInfo:
        def once() -> ObjectInfo:
            return self.inner.put(bucket, key, data, size=size, content_type=content_type,
                                  metadata=metadata, expected_sha256=expected_sha256,
                              late_metadata=late_metadata)
        if isinstance(data, (bytes, bytearray, memoryview)):
            return self._retried(once)
        return once()

    def get(self, bucket: str, key: str, byte_range: ByteRange | None = None) -> ObjectReader:
        return self._retried(lambda: self.inner.get(bucket, key, byte_range))

    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self._retried(lambda: self.inner.head(bucket, key))

    def delete(self, bucket: str, key: str) -> None:
        self._retried(lambda: self.inner.delete(bucket, key))

    def list(self, bucket: str, prefix: str = "", *, delimiter: str | None = None,
             cursor: str | None = None, limit: int = MAX_LIST_LIMIT) -> ListPage:
        return self._retried(lambda: self.inner.list(bucket, prefix, delimiter=delimiter,
                                                  cursor=cursor, limit=limit))

    def copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        return self._retried(lambda: self.inner.copy(bucket, key, dest_bucket, dest_key))

    # upload sessions
    def start_upload(self, bucket: str, key: str, *, sha256: str | None,
                     content_type: str | None = None,
                     metadata: Mapping[str, str] | None = None) -> str:
        return self._retried(lambda: self.inner.start_upload(
            bucket, key, sha256=sha256, content_type=content_type, metadata=metadata))

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int,
                    data: bytes) -> UploadedPart:
        return self._retried(lambda: self.inner.upload_part(bucket, key, upload_id, number, data))

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[UploadedPart]:
        return self._retried(lambda: self.inner.list_parts(bucket, key, upload_id))

    def complete_upload(self, bucket: str, key: str, upload_id: str,
                        parts: Sequence[UploadedPart], *, sha256: str | None) -> ObjectInfo:
        return self._retried(lambda: self.inner.complete_upload(bucket, key, upload_id, parts,
                                                             sha256=sha256))

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self._retried(lambda: self.inner.abort_upload(bucket, key, upload_id))
