"""Tink's AES-GCM-HKDF streaming AEAD, the ciphertext format of client-side encryption, written
with `cryptography`'s AES-GCM and HKDF so that a range of plaintext costs only the segments it
touches (Tink's Python API decrypts streams from their start only). Specification:
https://developers.google.com/tink/streaming-aead/aes_gcm_hkdf_streaming ; the tests decrypt
what this module writes with Tink itself.

    ciphertext = header || segment 0 || segment 1 || ... || segment n (the last)
    header     = header length (1 byte) || salt (key size) || nonce prefix (7 bytes)
    key_i      = HKDF-SHA256(ikm = data key, salt, info = associated data), the key size long
    segment i  = AES-GCM(key_i, nonce = prefix || i (4 bytes, big-endian) || last? (1 byte),
                         plaintext of segment i, no associated data): ciphertext || tag (16)

Every segment is `SEGMENT` bytes of ciphertext but the last (shorter, maybe empty of plaintext);
the first holds the header's bytes fewer. A truncated, reordered or altered ciphertext fails
authentication: the last segment's flag and each segment's number are in its nonce.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_SIZE = 32
NONCE_PREFIX = 7
TAG = 16
#: Ciphertext bytes per segment: 1 MiB, as Tink's AES256_GCM_HKDF_1MB key template.
SEGMENT = 1024 * 1024
HEADER = 1 + KEY_SIZE + NONCE_PREFIX


class DecryptionError(Exception):
    """The ciphertext does not authenticate under this key: altered, truncated or not ours."""


@dataclass(frozen=True)
class Layout:
    """Where plaintext bytes sit in the ciphertext (all segments are full but the last)."""

    segment: int = SEGMENT

    @property
    def first_plain(self) -> int:
        return self.segment - HEADER - TAG

    @property
    def plain(self) -> int:
        return self.segment - TAG

    def ciphertext_size(self, plaintext_size: int) -> int:
        segments = self.segments(plaintext_size)
        return HEADER + plaintext_size + segments * TAG

    def segments(self, plaintext_size: int) -> int:
        if plaintext_size <= self.first_plain:
            return 1
        rest = plaintext_size - self.first_plain
        return 1 + -(-rest // self.plain)

    def plaintext_size(self, ciphertext_size: int) -> int:
        """The inverse of `ciphertext_size` (ValueError for a size no plaintext gives)."""
        body = ciphertext_size - HEADER
        if body < TAG:
            raise ValueError(f"{ciphertext_size} bytes cannot be a ciphertext")
        if body <= self.segment - HEADER:
            return body - TAG
        rest = body - (self.segment - HEADER)
        full, tail = divmod(rest, self.segment)
        if tail and tail < TAG:
            raise ValueError(f"{ciphertext_size} bytes cannot be a ciphertext")
        return self.first_plain + full * self.plain + (tail - TAG if tail else 0)

    def segment_of(self, plain_offset: int) -> int:
        if plain_offset < self.first_plain:
            return 0
        return 1 + (plain_offset - self.first_plain) // self.plain

    def plain_start(self, index: int) -> int:
        return 0 if index == 0 else self.first_plain + (index - 1) * self.plain

    def cipher_start(self, index: int) -> int:
        """Offset of segment `index` in the ciphertext (the header precedes segment 0)."""
        return HEADER if index == 0 else index * self.segment


def _segment_key(key: bytes, salt: bytes, associated: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt,
                   info=associated).derive(key)
    return AESGCM(derived)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def encrypt(key: bytes, chunks: Iterable[bytes], associated: bytes,
            layout: Layout = Layout()) -> Iterator[bytes]:
    """The ciphertext of `chunks`, a segment at a time (memory: about two segments)."""
    salt, prefix = os.urandom(KEY_SIZE), os.urandom(NONCE_PREFIX)
    aead = _segment_key(key, salt, associated)
    yield bytes([HEADER]) + salt + prefix
    pending = bytearray()
    index = 0
    wanted = layout.first_plain
    for chunk in chunks:
        pending += chunk
        # Hold one segment back: only the last one is sealed with the "last" flag. Segments are
        # sealed from views of the buffer, which is compacted once per chunk: no copy per segment.
        start = 0
        while len(pending) - start > wanted:
            with memoryview(pending) as view:
                yield aead.encrypt(_nonce(prefix, index, False), view[start:start + wanted], None)
            start += wanted
            index += 1
            wanted = layout.plain
        if start:
            del pending[:start]
    yield aead.encrypt(_nonce(prefix, index, True), bytes(pending), None)


@dataclass(frozen=True)
class Header:
    salt: bytes
    prefix: bytes

    @classmethod
    def parse(cls, data: bytes) -> "Header":
        if len(data) < HEADER or data[0] != HEADER:
            raise DecryptionError("not a ciphertext of this format (bad header)")
        return cls(data[1:1 + KEY_SIZE], data[1 + KEY_SIZE:HEADER])


def decrypt_segments(key: bytes, header: Header, associated: bytes, first_index: int,
                     segments: Iterable[bytes], last_index: int) -> Iterator[bytes]:
    """Plaintext of consecutive whole segments from `first_index`; `last_index` is the object's
    last segment (it alone carries the "last" flag)."""
    aead = _segment_key(key, header.salt, associated)
    for index, sealed in enumerate(segments, first_index):
        try:
            yield aead.decrypt(_nonce(header.prefix, index, index == last_index), sealed, None)
        except InvalidTag:
            raise DecryptionError(f"segment {index} does not authenticate: the ciphertext was "
                                  "altered or truncated, or the key is not this object's") from None


def regroup(chunks: Iterable[bytes], first: int, size: int) -> Iterator[bytes]:
    """Ciphertext chunks cut into segments: the first `first` bytes long, then `size` each."""
    pending = bytearray()
    wanted = first
    for chunk in chunks:
        pending += chunk
        start = 0
        while len(pending) - start >= wanted:
            yield bytes(pending[start:start + wanted])
            start += wanted
            wanted = size
        if start:
            del pending[:start]
    if pending:
        yield bytes(pending)
