"""The client-side encryption format (adapters/encryption/streaming.py): Tink's AES-GCM-HKDF
streaming AEAD. Tink itself decrypts what Sortie writes and Sortie decrypts what Tink writes; a
range costs only its segments; any alteration fails authentication."""

from __future__ import annotations

import io
import os

import pytest

from tests.adapters.tink_reference import tink_primitive
from adapters.encryption.streaming import (HEADER, TAG, DecryptionError, Header, Layout,
                                           decrypt_segments, encrypt, regroup)

SMALL = Layout(segment=4096)  # small segments: many segment edges in little data
KEY = os.urandom(32)
AAD = "series/00001/image-00000001.dcm".encode()


def _encrypt(plain: bytes, layout: Layout = SMALL, chunk: int = 1000) -> bytes:
    chunks = (plain[i:i + chunk] for i in range(0, len(plain), chunk))
    return b"".join(encrypt(KEY, chunks, AAD, layout))


def _decrypt(cipher: bytes, layout: Layout = SMALL, key: bytes = KEY, aad: bytes = AAD) -> bytes:
    header = Header.parse(cipher[:HEADER])
    size = layout.plaintext_size(len(cipher))
    last = layout.segments(size) - 1
    segments = regroup([cipher[HEADER:]], layout.segment - HEADER, layout.segment)
    return b"".join(decrypt_segments(key, header, aad, 0, segments, last))


@pytest.mark.parametrize("size", [0, 1, 4096 - HEADER - TAG - 1, 4096 - HEADER - TAG,
                                  4096 - HEADER - TAG + 1, 4080 * 3, 100_000])
def test_round_trip_and_sizes_at_every_segment_edge(size: int) -> None:
    plain = os.urandom(size)
    cipher = _encrypt(plain)
    assert len(cipher) == SMALL.ciphertext_size(size)
    assert SMALL.plaintext_size(len(cipher)) == size
    assert _decrypt(cipher) == plain
    assert plain[:64] not in cipher or size < 8


def test_a_range_reads_only_the_segments_it_touches() -> None:
    plain = os.urandom(50_000)
    cipher = _encrypt(plain)
    first, last = 20_000, 20_999
    a, b = SMALL.segment_of(first), SMALL.segment_of(last)
    assert b - a <= 1  # a 1,000-byte range in 4 KiB segments
    start = SMALL.cipher_start(a)
    end = SMALL.cipher_start(b + 1) if b + 1 < SMALL.segments(len(plain)) else len(cipher)
    fetched = cipher[start:end]
    assert len(fetched) <= 2 * SMALL.segment
    header = Header.parse(cipher[:HEADER])
    segments = regroup([fetched], SMALL.segment, SMALL.segment) if a else \
        regroup([fetched], SMALL.segment - HEADER, SMALL.segment)
    data = b"".join(decrypt_segments(KEY, header, AAD, a, segments,
                                     SMALL.segments(len(plain)) - 1))
    offset = first - SMALL.plain_start(a)
    assert data[offset:offset + (last - first + 1)] == plain[first:last + 1]


@pytest.mark.parametrize("damage", ["flip", "truncate", "drop-segment", "swap", "key", "aad"])
def test_any_alteration_fails_authentication(damage: str) -> None:
    plain = os.urandom(20_000)
    cipher = bytearray(_encrypt(plain))
    key, aad = KEY, AAD
    if damage == "flip":
        cipher[len(cipher) // 2] ^= 1
    elif damage == "truncate":  # whole segments cut off the end: the last flag is missing
        del cipher[SMALL.cipher_start(3):]
    elif damage == "drop-segment":
        del cipher[SMALL.cipher_start(1):SMALL.cipher_start(2)]
    elif damage == "swap":
        one = cipher[SMALL.cipher_start(1):SMALL.cipher_start(2)]
        two = cipher[SMALL.cipher_start(2):SMALL.cipher_start(3)]
        cipher[SMALL.cipher_start(1):SMALL.cipher_start(3)] = two + one
    elif damage == "key":
        key = os.urandom(32)
    else:
        aad = b"another/key"
    with pytest.raises((DecryptionError, ValueError)):
        _decrypt(bytes(cipher), key=key, aad=aad)


@pytest.mark.parametrize("size", [0, 1, 5000, 1 << 20, 3 * (1 << 20) + 17])
def test_tink_decrypts_what_sortie_writes(size: int) -> None:
    primitive = tink_primitive(KEY, 1 << 20)
    plain = os.urandom(size)
    cipher = _encrypt(plain, Layout(), chunk=100_000)
    with primitive.new_decrypting_stream(io.BytesIO(cipher), AAD) as stream:
        assert stream.read() == plain


@pytest.mark.parametrize("size", [0, 1, 5000, 3 * (1 << 20) + 17])
def test_sortie_decrypts_what_tink_writes(size: int) -> None:
    primitive = tink_primitive(KEY, 1 << 20)
    plain = os.urandom(size)
    sink = io.BytesIO()
    with primitive.new_encrypting_stream(_Keep(sink), AAD) as stream:
        stream.write(plain)
    cipher = sink.getvalue()
    assert len(cipher) == Layout().ciphertext_size(size)
    assert _decrypt(cipher, Layout()) == plain


class _Keep(io.RawIOBase):
    """A destination Tink may close without losing what it wrote."""

    def __init__(self, sink: io.BytesIO) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.sink.write(data)
