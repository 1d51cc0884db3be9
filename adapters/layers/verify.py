"""Reads that never hand out corrupted bytes as good: a whole-object `get` of an object with a
recorded SHA-256 is hashed as it streams, and its last chunk is held back until the digest is
checked. On a mismatch the reader raises `CorruptObject` instead of yielding that chunk, so a
client streaming the body sees a truncated transfer, never a complete wrong object.

Ranged reads cannot be checked this way (the recorded hash covers the whole object): they pass
through unchecked. Objects other tools wrote (no recorded SHA-256) pass through too.
The gateway applies this layer; drills do not need it (they hash every read-back themselves).
"""

from __future__ import annotations

import hashlib
from typing import Iterator

from ..contract import ByteRange
from ..errors import CorruptObject
from ..streams import ObjectReader
from .base import Layer


class VerifyingStore(Layer):
    def get(self, bucket: str, key: str, byte_range: ByteRange | None = None) -> ObjectReader:
        reader = self.inner.get(bucket, key, byte_range)
        expected = reader.info.sha256
        if byte_range is not None or not expected:
            return reader
        return ObjectReader(reader.info, self._checked(reader, expected, bucket, key),
                            start=reader.start, end=reader.end, on_close=reader.close)

    def _checked(self, reader: ObjectReader, expected: str, bucket: str,
                 key: str) -> Iterator[bytes]:
        digest = hashlib.sha256()
        held: bytes | None = None
        for chunk in reader:
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
        actual = digest.hexdigest()
        if actual != expected.lower():
            raise CorruptObject(f"the stored bytes hash to {actual}, not to the SHA-256 recorded "
                                f"at ingest ({expected}): the copy on the backend is damaged",
                                backend=self.name, bucket=bucket, key=key)
        if held is not None:
            yield held
