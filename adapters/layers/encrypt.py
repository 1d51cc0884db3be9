"""Client-side encryption as a layer around any store: the backend holds ciphertext only.

Format: Tink's AES-GCM-HKDF streaming AEAD with 1 MiB segments (adapters/encryption/streaming.py,
with its specification). Each object gets its own random 256-bit data key, wrapped by a
key-encryption key (adapters/encryption/keys.py) and kept in the object's metadata as layer
entries (adapters/metadata.py), beside the format's name, the KEK's id and the plaintext's
SHA-256. So an encrypted object carries everything but the KEK: a drill copies it as it is (no key
needed, the exit provider sees ciphertext only), and a KEK rotation rewraps the data key in the
metadata without rewriting the data.

What callers see is the plaintext: sizes, SHA-256, ranges, user metadata. A range reads only the
segments it touches (the header, then those segments). Every segment is authenticated, and the
last carries a "last" flag, so a flipped bit, a truncation or a swapped segment fails the read
(`CorruptObject`) rather than returning wrong plaintext; a missing or wrong KEK is
`KeyUnavailable`.

With `key=None` the layer writes plaintext and still decrypts the encrypted objects it has a key
for (a bucket whose encryption was turned off, or read by a tool that holds the keyring).
Associated data is a fixed label, not the object's name: a drill may copy objects under a target
prefix, and the copy must decrypt there too (so whole objects of one bucket could be swapped by
whoever controls the backend; their content cannot be read or altered).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import tempfile
from dataclasses import replace
from typing import IO, Iterable, Iterator, Mapping

from .. import metadata as md
from ..contract import (MAX_LIST_LIMIT, ByteRange, Feature, LateMetadata, ListPage, ObjectInfo,
                        ObjectStore)
from ..encryption import streaming
from ..encryption.keys import Keyring, KeyEncryptionKey, WrongKey
from ..errors import CorruptObject, HashMismatch, IntegrityError, KeyUnavailable, Unsupported
from ..streams import ObjectReader, PutSource, iter_source, window
from ..uploads import UploadedPart
from .base import Layer

#: The format's name and version, in each encrypted object's metadata.
FORMAT = "tink-aes256-gcm-hkdf-1mb/1"
ENC, KID, DEK, PLAIN_SHA256 = "sortie:enc", "sortie:kid", "sortie:dek", "sortie:plainsha256"
#: This layer's own entries, hidden from its callers (other layers' entries pass through).
OWN_ENTRIES = frozenset((ENC, KID, DEK, PLAIN_SHA256))
ASSOCIATED = b"sortie-object/1"
#: Ciphertext kept in memory before the spool goes to disk (puts whose plaintext hash is unknown).
SPOOL_MEMORY = 8 * 1024 * 1024
_LAYOUT = streaming.Layout()


def is_encrypted(info: ObjectInfo) -> bool:
    return encrypted_metadata(info.metadata)


def encrypted_metadata(metadata: Mapping[str, str]) -> bool:
    """Whether an object with this metadata holds ciphertext of client-side encryption."""
    return ENC in metadata


class EncryptingStore(Layer):
    def __init__(self, inner: ObjectStore, keyring: Keyring,
                 key: KeyEncryptionKey | None) -> None:
        super().__init__(inner)
        self.keyring = keyring
        self.key = key
        if key is not None:
            self.capabilities = inner.capabilities.with_overrides(
                server_side_copy=False, native_hashes=(),
                max_object_size=_largest_plaintext(inner.capabilities.max_object_size),
                lacks={**inner.capabilities.lacks, Feature.resumable_upload:
                       "upload sessions through client-side encryption are not built (parts "
                       "would have to end on the format's 1 MiB segments)"})

    # ---- writes ------------------------------------------------------------------------------
    def put(self, bucket: str, key: str, data: PutSource, *, size: int | None = None,
            content_type: str | None = None, metadata: Mapping[str, str] | None = None,
            expected_sha256: str | None = None,
            late_metadata: LateMetadata | None = None) -> ObjectInfo:
        user = md.validate_user(metadata)
        if self.key is None:
            return self.inner.put(bucket, key, data, size=size, content_type=content_type,
                                  metadata=user, expected_sha256=expected_sha256,
                                  late_metadata=late_metadata)
        known: str | None = None
        if expected_sha256 is None and isinstance(data, (bytes, bytearray, memoryview)):
            # Hashed here in one pass over memory, so the ciphertext needs no spool.
            known = expected_sha256 = hashlib.sha256(data).hexdigest()
        plain = _Plaintext(iter_source(data), size, expected_sha256, known)
        data_key = secrets.token_bytes(streaming.KEY_SIZE)
        sealed = streaming.encrypt(data_key, plain, ASSOCIATED, _LAYOUT)
        entries = {ENC: FORMAT, KID: self.key.id,
                   DEK: base64.urlsafe_b64encode(self.key.wrap(data_key)).decode("ascii")}
        if expected_sha256 is not None:
            stored = self.inner.put(
                bucket, key, sealed, content_type=content_type,
                size=None if size is None else _LAYOUT.ciphertext_size(size),
                metadata={**user, **entries, PLAIN_SHA256: expected_sha256.lower()},
                late_metadata=late_metadata)
        else:
            stored = self._put_spooled(bucket, key, sealed, plain, content_type, user,
                                       entries, late_metadata)
        return self._plain_info(stored, plain.sha256)

    def _put_spooled(self, bucket: str, key: str, sealed: Iterable[bytes], plain: "_Plaintext",
                     content_type: str | None, user: dict[str, str],
                     entries: dict[str, str],
                     late_metadata: LateMetadata | None) -> ObjectInfo:
        # The plaintext's SHA-256 goes in the metadata, which backends take before the body:
        # the ciphertext waits in a spool until the plaintext has been read to its end.
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, prefix="sortie-enc-") as spool:
            digest = hashlib.sha256()
            for chunk in sealed:
                digest.update(chunk)
                spool.write(chunk)
            length = spool.tell()
            spool.seek(0)
            return self.inner.put(bucket, key, _SpoolReader(spool), size=length,
                                  content_type=content_type, expected_sha256=digest.hexdigest(),
                                  metadata={**user, **entries, PLAIN_SHA256: plain.sha256},
                                  late_metadata=late_metadata)

    def copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        source = self.inner.head(bucket, key)
        if self.key is None and not is_encrypted(source):
            return self.inner.copy(bucket, key, dest_bucket, dest_key)
        # Through Sortie: the copy is encrypted under this layer's key with a new data key.
        with self.get(bucket, key) as body:
            info = body.info
            return self.put(dest_bucket, dest_key, iter(body), size=info.size,
                            content_type=info.content_type, metadata=info.metadata,
                            expected_sha256=info.sha256)

    def set_metadata(self, bucket: str, key: str, metadata: Mapping[str, str], *,
                     if_etag: str) -> None:
        """The user's entries replaced; the encryption entries of the object stay."""
        user = md.validate_user(metadata)
        current = self.inner.head(bucket, key)
        layer = {k: v for k, v in current.metadata.items() if md.is_layer_key(k)}
        self.inner.set_metadata(bucket, key, {**user, **layer}, if_etag=if_etag)

    # ---- reads -------------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self._plain_info(self.inner.head(bucket, key))

    def get(self, bucket: str, key: str, byte_range: ByteRange | None = None) -> ObjectReader:
        if byte_range is None:
            return self._get_whole(bucket, key)
        if self.key is None:  # mostly plaintext objects here: one request, as without the layer
            reader = self.inner.get(bucket, key, byte_range)
            if not is_encrypted(reader.info):
                return reader
            reader.close()
            stored = reader.info
        else:
            stored = self.inner.head(bucket, key)
            if not is_encrypted(stored):
                return self.inner.get(bucket, key, byte_range)
        return self._get_range(bucket, key, stored, byte_range)

    def _get_whole(self, bucket: str, key: str) -> ObjectReader:
        reader = self.inner.get(bucket, key)
        if not is_encrypted(reader.info):
            return reader
        try:
            info = self._plain_info(reader.info)
            data_key = self._data_key(reader.info, bucket, key)
        except BaseException:
            reader.close()
            raise
        last = _LAYOUT.segments(info.size) - 1
        segments = streaming.regroup(_after_header(reader, box := _HeaderBox()),
                                     _LAYOUT.segment - streaming.HEADER, _LAYOUT.segment)
        chunks = self._decrypted(data_key, box, 0, segments, last, bucket, key)
        return ObjectReader(info, chunks, start=0, end=info.size - 1, on_close=reader.close)

    def _get_range(self, bucket: str, key: str, stored: ObjectInfo,
                   byte_range: ByteRange) -> ObjectReader:
        info = self._plain_info(stored)
        first, last = byte_range.resolve(info.size)
        data_key = self._data_key(stored, bucket, key)
        first_segment, last_segment = _LAYOUT.segment_of(first), _LAYOUT.segment_of(last)
        final = _LAYOUT.segments(info.size) - 1
        end = min(_LAYOUT.cipher_start(last_segment + 1), stored.size) - 1
        box = _HeaderBox()
        if first_segment == 0:  # one read: the header, then the segments
            reader = self.inner.get(bucket, key, ByteRange(0, end))
            body: Iterable[bytes] = _after_header(reader, box)
        else:
            with self.inner.get(bucket, key, ByteRange(0, streaming.HEADER - 1)) as head:
                box.header = _parse_header(head.read(), bucket, key, self.name)
            reader = self.inner.get(bucket, key,
                                    ByteRange(_LAYOUT.cipher_start(first_segment), end))
            body = reader
        size = _LAYOUT.segment - streaming.HEADER if first_segment == 0 else _LAYOUT.segment
        segments = streaming.regroup(body, size, _LAYOUT.segment)
        plain = self._decrypted(data_key, box, first_segment, segments, final, bucket, key)
        wanted = window(plain, first - _LAYOUT.plain_start(first_segment), last - first + 1)
        return ObjectReader(info, wanted, start=first, end=last, on_close=reader.close)

    def _decrypted(self, data_key: bytes, box: "_HeaderBox", first_index: int,
                   segments: Iterable[bytes], last_index: int, bucket: str,
                   key: str) -> Iterator[bytes]:
        def generate() -> Iterator[bytes]:
            iterator = iter(segments)
            try:
                first = next(iterator)
            except StopIteration:
                raise CorruptObject("the stored ciphertext ends before its first segment",
                                    backend=self.name, bucket=bucket, key=key) from None
            assert box.header is not None
            try:
                yield from streaming.decrypt_segments(data_key, box.header, ASSOCIATED,
                                                      first_index, _chain(first, iterator),
                                                      last_index)
            except streaming.DecryptionError as exc:
                raise CorruptObject(str(exc), backend=self.name, bucket=bucket,
                                    key=key) from None
        return generate()

    def list(self, bucket: str, prefix: str = "", *, delimiter: str | None = None,
             cursor: str | None = None, limit: int = MAX_LIST_LIMIT) -> ListPage:
        page = self.inner.list(bucket, prefix, delimiter=delimiter, cursor=cursor, limit=limit)
        return replace(page, objects=[self._listed(info) for info in page.objects])

    def _listed(self, info: ObjectInfo) -> ObjectInfo:
        if info.complete:
            return self._plain_info(info)
        if self.key is None:
            return info
        # Listings without metadata: in a bucket that encrypts, objects are taken as encrypted.
        try:
            return replace(info, size=_LAYOUT.plaintext_size(info.size), etag=None)
        except ValueError:
            return info

    # ---- upload sessions: plaintext buckets only ---------------------------------------------
    def start_upload(self, bucket: str, key: str, *, sha256: str | None,
                     content_type: str | None = None,
                     metadata: Mapping[str, str] | None = None) -> str:
        self._plaintext_only()
        return self.inner.start_upload(bucket, key, sha256=sha256, content_type=content_type,
                                       metadata=md.validate_user(metadata))

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int,
                    data: bytes) -> UploadedPart:
        self._plaintext_only()
        return self.inner.upload_part(bucket, key, upload_id, number, data)

    def _plaintext_only(self) -> None:
        if self.key is not None:
            raise Unsupported(self.capabilities.lacks[Feature.resumable_upload],
                              backend=self.name)

    # ---- keys --------------------------------------------------------------------------------
    def _data_key(self, stored: ObjectInfo, bucket: str, key: str) -> bytes:
        meta = stored.metadata
        if meta.get(ENC) != FORMAT:
            raise Unsupported(f"the object is encrypted in format {meta.get(ENC)!r}; this "
                              f"version of Sortie reads {FORMAT!r}", backend=self.name,
                              bucket=bucket, key=key)
        key_id = meta.get(KID, "")
        kek = self.keyring.by_id(key_id)
        if kek is None:
            raise KeyUnavailable(f"the object is encrypted under key {key_id!r}, which is not "
                                 "in the configured keys (keys: {NAME: {file: PATH}})",
                                 backend=self.name, bucket=bucket, key=key)
        try:
            return kek.unwrap(base64.urlsafe_b64decode(meta.get(DEK, "")))
        except (WrongKey, ValueError):
            raise KeyUnavailable(f"the object's data key does not unwrap under key {key_id!r}: "
                                 "the key file is not the one that encrypted it",
                                 backend=self.name, bucket=bucket, key=key) from None

    def rewrap(self, info: ObjectInfo, bucket: str, key: str,
               new: KeyEncryptionKey) -> dict[str, str]:
        """The object's metadata with its data key wrapped by `new` instead (KEK rotation)."""
        data_key = self._data_key(info, bucket, key)
        return {**info.metadata, KID: new.id,
                DEK: base64.urlsafe_b64encode(new.wrap(data_key)).decode("ascii")}

    def _plain_info(self, stored: ObjectInfo, sha256: str | None = None) -> ObjectInfo:
        if not is_encrypted(stored):
            return stored
        try:
            size = _LAYOUT.plaintext_size(stored.size)
        except ValueError:
            raise CorruptObject(f"{stored.size} bytes cannot be a ciphertext of this format",
                                backend=self.name, key=stored.key) from None
        return replace(stored, size=size, sha256=sha256 or stored.metadata.get(PLAIN_SHA256),
                       metadata={name: value for name, value in stored.metadata.items()
                                 if name not in OWN_ENTRIES})


class _Plaintext:
    """The put's plaintext as it passes: hashed, counted, checked at its end against the
    announced size and SHA-256 (raising there fails the inner put: nothing is stored)."""

    def __init__(self, chunks: Iterator[bytes], size: int | None,
                 expected_sha256: str | None, known_sha256: str | None = None) -> None:
        self._chunks = chunks
        self._size = size
        self._expected = expected_sha256.lower() if expected_sha256 else None
        #: The layer hashed these very bytes already: no second pass.
        self._hash = None if known_sha256 else hashlib.sha256()
        self.length = 0
        self.sha256 = known_sha256 or ""

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if self._hash is not None:
                self._hash.update(chunk)
            self.length += len(chunk)
            yield chunk
        if self._size is not None and self.length != self._size:
            raise IntegrityError(f"received {self.length} bytes, {self._size} were announced")
        if self._hash is not None:
            self.sha256 = self._hash.hexdigest()
        if self._expected is not None and self.sha256 != self._expected:
            raise HashMismatch(f"SHA-256 of the received bytes is {self.sha256}, the caller "
                               f"announced {self._expected}; nothing was stored")


class _HeaderBox:
    header: streaming.Header | None = None


class _SpoolReader:
    """A spool read in chunks (SpooledTemporaryFile is no `Iterable[bytes]` of chunks)."""

    def __init__(self, spool: IO[bytes]) -> None:
        self.read = spool.read


def _after_header(chunks: Iterable[bytes], box: _HeaderBox) -> Iterator[bytes]:
    """The ciphertext after its header, which is parsed into `box` on the way."""
    pending = b""
    iterator = iter(chunks)
    for chunk in iterator:
        pending += chunk
        if len(pending) >= streaming.HEADER:
            break
    box.header = _parse_header(pending[:streaming.HEADER], None, None, None)
    if len(pending) > streaming.HEADER:
        yield pending[streaming.HEADER:]
    yield from iterator


def _parse_header(data: bytes, bucket: str | None, key: str | None,
                  backend: str | None) -> streaming.Header:
    try:
        return streaming.Header.parse(data)
    except streaming.DecryptionError as exc:
        raise CorruptObject(str(exc), backend=backend, bucket=bucket, key=key) from None


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest



def _largest_plaintext(ciphertext_bytes: int) -> int:
    """A plaintext size whose ciphertext fits in `ciphertext_bytes` (the header and a tag per
    segment are the format's overhead)."""
    overhead = streaming.HEADER + streaming.TAG * (ciphertext_bytes // _LAYOUT.segment + 1)
    return max(0, ciphertext_bytes - overhead)
