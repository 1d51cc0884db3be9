"""Client-side encryption on real backends: what the provider holds, and what a damaged or
unkeyed object does. (Round trips, ranges and sizes run in the conformance suite through the
same layer: tests/rigs/encrypted.py.)"""

from __future__ import annotations

import base64
import io
from typing import Iterator

import pytest

from adapters.contract import ByteRange, ObjectStore
from adapters.encryption import streaming
from adapters.encryption.keys import FileKey, Keyring
from adapters.errors import CorruptObject, KeyUnavailable
from adapters.layers.encrypt import ASSOCIATED, DEK, ENC, KID, PLAIN_SHA256, EncryptingStore
from adapters.layers.stack import encrypted
from bench.bench_encryption import CountingStore
from tests.adapters.tink_reference import tink_primitive
from tests.conformance.helpers import payload, sha
from tests.conftest import empty_and_delete, new_bucket_name
from tests.rigs import Rig

MiB = 1024 * 1024
SEGMENT = streaming.SEGMENT
ENCRYPTED_RIGS = ["local-encrypted", "s3-seaweedfs-encrypted", "azure-azurite-encrypted",
                  "swift-encrypted"]


@pytest.fixture(params=ENCRYPTED_RIGS)
def erig(request: pytest.FixtureRequest) -> Rig:
    return request.getfixturevalue("rig_" + request.param.replace("-", "_"))


@pytest.fixture
def ebucket(erig: Rig) -> Iterator[str]:
    name = new_bucket_name()
    erig.store.create_bucket(name)
    yield name
    empty_and_delete(erig.store, name)


def plain_store(rig: Rig) -> ObjectStore:
    """The same backend without the encryption layer: what the provider holds."""
    return rig.extras["plain"]()  # type: ignore[no-any-return]


def test_the_backend_holds_ciphertext_only(erig: Rig, ebucket: str) -> None:
    data = payload(2 * MiB + 12345, seed=7)
    erig.store.put(ebucket, "scan.dcm", data, metadata={"patient": "anonymised"})
    with plain_store(erig).get(ebucket, "scan.dcm") as raw:
        stored = raw.read()
        info = raw.info
    assert len(stored) == streaming.Layout().ciphertext_size(len(data)) == info.size
    samples = [data[i:i + 32] for i in range(0, len(data) - 32, 4093)]
    assert not any(sample in stored for sample in samples)
    assert info.metadata[ENC] and info.metadata[KID] and info.metadata[DEK]
    assert info.metadata[PLAIN_SHA256] == sha(data)
    assert info.metadata["patient"] == "anonymised"  # user metadata is not encrypted (named)
    seen = erig.store.head(ebucket, "scan.dcm")
    assert (seen.size, seen.sha256, dict(seen.metadata)) == (len(data), sha(data),
                                                             {"patient": "anonymised"})


def test_s3_sdk_reads_ciphertext(rig_s3_seaweedfs_encrypted: Rig) -> None:
    rig = rig_s3_seaweedfs_encrypted
    bucket = new_bucket_name()
    rig.store.create_bucket(bucket)
    try:
        data = b"hospital record " * 4096
        rig.store.put(bucket, "record", data)
        client = rig.extras["client"]()
        reply = client.get_object(Bucket=bucket, Key="record")  # type: ignore[attr-defined]
        body = reply["Body"].read()
        assert b"hospital record" not in body
        assert reply["Metadata"]["sortie-kid"] == rig.store.key.id  # type: ignore[attr-defined]
    finally:
        empty_and_delete(rig.store, bucket)


def test_sortie_ciphertext_decrypts_with_tink(erig: Rig, ebucket: str,
                                              rig_keyring: Keyring) -> None:
    data = payload(3 * MiB + 17, seed=3)
    erig.store.put(ebucket, "k", data)
    with plain_store(erig).get(ebucket, "k") as raw:
        stored, info = raw.read(), raw.info
    data_key = rig_keyring.by_id(info.metadata[KID]).unwrap(  # type: ignore[union-attr]
        base64.urlsafe_b64decode(info.metadata[DEK]))
    tink = tink_primitive(data_key, SEGMENT)
    with tink.new_decrypting_stream(io.BytesIO(stored), ASSOCIATED) as stream:
        assert stream.read() == data


def _tamper(rig: Rig, bucket: str, key: str, change: "callable") -> None:  # type: ignore[valid-type]
    plain = plain_store(rig)
    with plain.get(bucket, key) as raw:
        stored, info = bytearray(raw.read()), raw.info
    plain.put(bucket, key, bytes(change(stored)), content_type=info.content_type,
              metadata=info.metadata)


def _flip(offset: int):  # type: ignore[no-untyped-def]
    def change(data: bytearray) -> bytearray:
        data[offset] ^= 0x01
        return data
    return change


@pytest.mark.parametrize("where, damage", [
    ("header", _flip(5)),
    ("first segment", _flip(SEGMENT // 2)),
    ("last segment", _flip(-3)),
    ("truncated by a byte", lambda d: d[:-1]),
    ("last segment dropped", lambda d: d[:2 * SEGMENT]),
])
def test_damaged_ciphertext_fails_never_wrong_plaintext(erig: Rig, ebucket: str, where: str,
                                                       damage: object) -> None:
    data = payload(2 * MiB + 500_000, seed=11)
    erig.store.put(ebucket, "k", data)
    _tamper(erig, ebucket, "k", damage)  # type: ignore[arg-type]
    with pytest.raises(CorruptObject):
        erig.store.get(ebucket, "k").read()
    if where in ("first segment", "header"):
        with pytest.raises(CorruptObject):  # a range over the damaged segment fails too
            erig.store.get(ebucket, "k", ByteRange(10, 20)).read()


def test_missing_or_wrong_key_is_refused(erig: Rig, ebucket: str) -> None:
    erig.store.put(ebucket, "k", b"secret" * 1000)
    inner = plain_store(erig)
    key_id = inner.head(ebucket, "k").metadata[KID]
    without = EncryptingStore(inner, Keyring(), None)
    with pytest.raises(KeyUnavailable, match="not in the configured keys"):
        without.get(ebucket, "k").read()
    wrong = FileKey(key_id, b"\x07" * 32)  # the right id, another secret
    with pytest.raises(KeyUnavailable, match="does not unwrap"):
        EncryptingStore(inner, Keyring({"k": wrong}), wrong).get(ebucket, "k").read()


def test_a_bucket_without_a_key_writes_plaintext_and_reads_both(erig: Rig, ebucket: str,
                                                                rig_keyring: Keyring) -> None:
    data = payload(MiB + 3, seed=5)
    erig.store.put(ebucket, "sealed", data)
    reader_only = encrypted(plain_store(erig), rig_keyring, None)
    reader_only.put(ebucket, "open", data)
    assert plain_store(erig).get(ebucket, "open").read() == data  # plaintext on the backend
    for key in ("sealed", "open"):
        assert reader_only.get(ebucket, key).read() == data
        assert reader_only.get(ebucket, key, ByteRange(MiB - 10, MiB + 2)).read() == \
            data[MiB - 10:MiB + 3]


def test_copy_reencrypts_under_a_new_data_key(erig: Rig, ebucket: str) -> None:
    data = payload(300_000, seed=9)
    erig.store.put(ebucket, "a", data, metadata={"study": "42"})
    copied = erig.store.copy(ebucket, "a", ebucket, "b")
    assert (copied.size, copied.sha256) == (len(data), sha(data))
    assert erig.store.get(ebucket, "b").read() == data
    raw = plain_store(erig)
    assert raw.head(ebucket, "a").metadata[DEK] != raw.head(ebucket, "b").metadata[DEK]
    assert erig.store.head(ebucket, "b").metadata == {"study": "42"}


def test_a_range_fetches_only_its_segments(rig_local_encrypted: Rig, rig_keyring: Keyring) -> None:
    rig = rig_local_encrypted
    bucket = new_bucket_name()
    rig.store.create_bucket(bucket)
    try:
        data = payload(24 * MiB, seed=2)
        rig.store.put(bucket, "big", data)
        counting = CountingStore(plain_store(rig))
        layer = EncryptingStore(counting, rig_keyring, rig_keyring.named("test"))
        start = 11 * MiB + 123
        got = layer.get(bucket, "big", ByteRange(start, start + MiB - 1)).read()
        assert got == data[start:start + MiB]
        assert counting.fetched <= streaming.HEADER + 2 * SEGMENT
        counting.fetched = 0
        assert layer.get(bucket, "big", ByteRange.last(5)).read() == data[-5:]
        assert counting.fetched <= streaming.HEADER + SEGMENT
    finally:
        empty_and_delete(rig.store, bucket)
