"""Object behaviours every adapter honours exactly, run unchanged over every rig."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from adapters.contract import ByteRange, Feature, ObjectStore
from adapters.errors import (BucketNotFound, Conflict, IntegrityError, InvalidRequest, ObjectNotFound,
                             RangeNotSatisfiable)

from ..conftest import new_bucket_name
from ..rigs import Rig
from .helpers import MiB, chunks, payload, require, sha


@pytest.mark.parametrize("size", [0, 1, 5 * MiB], ids=["empty", "1-byte", "5MiB"])
def test_round_trip(store: ObjectStore, bucket: str, size: int) -> None:
    data = payload(size, seed=size)
    info = store.put(bucket, "obj", data)
    assert info.size == size
    assert info.sha256 == sha(data)
    with store.get(bucket, "obj") as body:
        assert body.read() == data
        assert body.info.size == size
        assert body.info.sha256 == sha(data)
    head = store.head(bucket, "obj")
    assert head.size == size
    assert head.sha256 == sha(data)
    assert head.last_modified is not None


def test_40mib_through_the_multipart_path(rig: Rig, bucket: str) -> None:
    store = rig.multipart_store or rig.store
    data = payload(40 * MiB, seed=40)
    info = store.put(bucket, "big/forty", chunks(data, 3 * MiB + 17), content_type="video/mp4",
                     metadata={"Study": "CT-42"})
    assert info.size == len(data)
    head = store.head(bucket, "big/forty")
    assert (head.size, head.sha256, head.content_type) == (len(data), sha(data), "video/mp4")
    assert head.metadata == {"Study": "CT-42"}
    with store.get(bucket, "big/forty") as body:
        assert sha(body.read()) == sha(data)
    with store.get(bucket, "big/forty", ByteRange(20 * MiB - 5, 20 * MiB + 4)) as body:
        assert body.read() == data[20 * MiB - 5:20 * MiB + 5]


@pytest.mark.parametrize("size", [0, 1, 2 * MiB + 3])
def test_unknown_length_stream(store: ObjectStore, bucket: str, size: int) -> None:
    data = payload(size, seed=7)
    info = store.put(bucket, "stream", chunks(data, 64 * 1024 + 1))
    assert (info.size, info.sha256) == (size, sha(data))
    assert store.get(bucket, "stream").read() == data
    assert store.head(bucket, "stream").sha256 == sha(data)


def test_file_like_source(store: ObjectStore, bucket: str) -> None:
    data = payload(300_000, seed=3)
    store.put(bucket, "file", io.BytesIO(data), size=len(data))
    assert store.get(bucket, "file").read() == data


RANGES = [
    (ByteRange(0, 0), slice(0, 1)),
    (ByteRange(100, 199), slice(100, 200)),
    (ByteRange(999, 999), slice(999, 1000)),
    (ByteRange.last(10), slice(990, 1000)),
    (ByteRange.last(5000), slice(0, 1000)),
    (ByteRange(900, 5000), slice(900, 1000)),
    (ByteRange(500), slice(500, 1000)),
]


@pytest.mark.parametrize("byte_range,expected", RANGES,
                         ids=["first", "middle", "last", "suffix", "suffix-past-start",
                              "end-past-end", "open-ended"])
def test_byte_ranges(store: ObjectStore, bucket: str, byte_range: ByteRange,
                     expected: slice) -> None:
    data = payload(1000, seed=1)
    store.put(bucket, "ranged", data)
    with store.get(bucket, "ranged", byte_range) as body:
        assert body.read() == data[expected]
        assert (body.start, body.end) == (expected.start, expected.stop - 1)
        assert body.info.size == 1000


def test_range_starting_past_the_end_is_unsatisfiable(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "short", b"0123456789")
    with pytest.raises(RangeNotSatisfiable):
        store.get(bucket, "short", ByteRange(10, 20)).read()
    store.put(bucket, "empty", b"")
    with pytest.raises(RangeNotSatisfiable):
        store.get(bucket, "empty", ByteRange(0, 0)).read()


def test_malformed_range_is_invalid() -> None:
    with pytest.raises(InvalidRequest):
        ByteRange(5, 2)
    with pytest.raises(InvalidRequest):
        ByteRange(-1)


def test_overwrite_replaces_everything(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "k", b"first version", content_type="text/plain", metadata={"v": "1"})
    store.put(bucket, "k", b"second", content_type="application/json", metadata={"other": "2"})
    head = store.head(bucket, "k")
    assert (head.size, head.sha256, head.content_type) == (6, sha(b"second"), "application/json")
    assert head.metadata == {"other": "2"}
    assert store.get(bucket, "k").read() == b"second"
    assert [o.key for o in store.iter_objects(bucket)] == ["k"]


def test_delete_is_idempotent(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "gone", b"x")
    store.delete(bucket, "gone")
    store.delete(bucket, "gone")
    store.delete(bucket, "never-existed")
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "gone")


def test_missing_object_and_bucket_are_not_found(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "missing")
    with pytest.raises(ObjectNotFound):
        store.get(bucket, "missing").read()
    missing = new_bucket_name()
    with pytest.raises(BucketNotFound):
        store.head(missing, "k")
    with pytest.raises(BucketNotFound):
        store.get(missing, "k").read()
    with pytest.raises(BucketNotFound):
        store.put(missing, "k", b"data")
    with pytest.raises(BucketNotFound):
        store.list(missing)


METADATA = {
    "Patient-Study": "CT Thorax",
    "scanner_model": "Siemens SOMATOM",
    "MixedCase": "Valeur accentuée: éàü",
    "lower": "日本語 テキスト 🩻",
    "x": "  leading and trailing spaces  ",
    "Empty": "",
    "looks-encoded": "=?UTF-8?B?aGk=?=",
}


def test_metadata_and_content_type_round_trip(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "meta", b"data", content_type="application/dicom", metadata=METADATA)
    head = store.head(bucket, "meta")
    assert head.content_type == "application/dicom"
    assert dict(head.metadata) == METADATA
    with store.get(bucket, "meta") as body:
        assert dict(body.info.metadata) == METADATA
        assert body.info.content_type == "application/dicom"


@pytest.mark.parametrize("size,announced", [(5, False), (3 * MiB + 1, False),
                                           (40 * MiB, True), (40 * MiB, False)])
def test_late_metadata_is_stored_with_the_object(rig: Rig, bucket: str, size: int,
                                                 announced: bool) -> None:
    """Entries known once the body is read (the S3 front's MD5) are stored with the object on
    every path: small, large, announced hash (which may otherwise stream metadata first)."""
    store = rig.multipart_store or rig.store if size > 4 * MiB else rig.store
    data = payload(size, seed=size)
    seen = []

    def late() -> dict[str, str]:
        seen.append(len(b"".join(read)))
        return {"sortie:md5": hashlib.md5(data).hexdigest()}

    read: list[bytes] = []

    def source() -> Iterator[bytes]:
        for chunk in chunks(data, MiB + 3):
            read.append(chunk)
            yield chunk

    info = store.put(bucket, "late", source(), size=size, metadata={"Study": "CT-1"},
                     expected_sha256=sha(data) if announced else None, late_metadata=late)
    assert seen == [size]  # called once, after the last byte
    wanted = {"Study": "CT-1", "sortie:md5": hashlib.md5(data).hexdigest()}
    assert dict(info.metadata) == wanted
    assert dict(store.head(bucket, "late").metadata) == wanted
    with store.get(bucket, "late") as body:
        assert dict(body.info.metadata) == wanted and sha(body.read()) == sha(data)
    with pytest.raises(InvalidRequest):
        store.put(bucket, "late-refused", b"x", late_metadata=lambda: {"user": "not an entry"})
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "late-refused")


def test_an_open_body_keeps_its_own_bytes_while_other_calls_run(store: ObjectStore,
                                                                  bucket: str) -> None:
    """The gateway opens a body in one thread and streams it from another while the first
    thread serves the next request: a body must never read another response's bytes."""
    first, second = payload(3 * MiB + 11, seed=81), payload(3 * MiB + 11, seed=82)
    store.put(bucket, "first", first)
    store.put(bucket, "second", second)
    body = store.get(bucket, "first")
    try:
        assert store.get(bucket, "second").read() == second
        with store.get(bucket, "second", ByteRange(MiB, 2 * MiB - 1)) as ranged:
            assert ranged.read() == second[MiB:2 * MiB]
        assert sha(b"".join(body)) == sha(first)
    finally:
        body.close()


def test_the_content_type_given_is_kept_whatever_the_key(store: ObjectStore,
                                                          bucket: str) -> None:
    """Some providers guess a type from the key's extension when given a generic one (SeaweedFS
    turns application/octet-stream on "x.dcm" into application/dicom): the type given stays."""
    for key in ("series/slice.dcm", "notes.txt", "page.html"):
        store.put(bucket, key, b"bytes", content_type="application/octet-stream")
        assert store.head(bucket, key).content_type == "application/octet-stream", key
        with store.get(bucket, key) as body:
            assert body.info.content_type == "application/octet-stream"
    store.put(bucket, "defaulted.txt", b"bytes")
    assert store.head(bucket, "defaulted.txt").content_type == "application/octet-stream"


def test_default_content_type(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "plain", b"x")
    assert store.head(bucket, "plain").content_type == "application/octet-stream"


def test_sha256_mismatch_stores_nothing(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.atomic_put)
    store.put(bucket, "kept", b"original")
    with pytest.raises(IntegrityError):
        store.put(bucket, "kept", b"tampered", expected_sha256=sha(b"something else"))
    with pytest.raises(IntegrityError):
        store.put(bucket, "new", chunks(b"tampered" * 1000, 1000),
                  expected_sha256=sha(b"something else"))
    assert store.get(bucket, "kept").read() == b"original"
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "new")
    info = store.put(bucket, "ok", b"right", expected_sha256=sha(b"right").upper())
    assert info.sha256 == sha(b"right")


def test_announced_size_mismatch_stores_nothing(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.atomic_put)
    with pytest.raises(IntegrityError):
        store.put(bucket, "short", chunks(b"abc", 1), size=10)
    with pytest.raises(IntegrityError):
        store.put(bucket, "long", chunks(b"abcdef" * 100, 7), size=10)
    assert list(store.iter_objects(bucket)) == []


class Boom(Exception):
    pass


def _failing_stream(total: int, fail_at: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        if sent >= fail_at:
            raise Boom("the client went away")
        piece = payload(min(256 * 1024, total - sent), seed=sent)
        sent += len(piece)
        yield piece


@pytest.mark.parametrize("size", [1 * MiB, 12 * MiB], ids=["single", "multipart"])
def test_stream_failing_midway_leaves_nothing(rig: Rig, bucket: str, size: int) -> None:
    store = rig.multipart_store or rig.store
    require(store, Feature.atomic_put)
    store.put(bucket, "existing", b"previous version")
    with pytest.raises(Boom):
        store.put(bucket, "partial", _failing_stream(size, size // 2))
    with pytest.raises(Boom):
        store.put(bucket, "existing", _failing_stream(size, size // 2))
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "partial")
    assert store.get(bucket, "existing").read() == b"previous version"
    assert [o.key for o in store.iter_objects(bucket)] == ["existing"]


def test_concurrent_puts_all_land(store: ObjectStore, bucket: str) -> None:
    def put(i: int) -> str:
        return store.put(bucket, f"concurrent/{i:02d}", payload(10_000 + i, seed=i)).key

    with ThreadPoolExecutor(16) as pool:
        keys = list(pool.map(put, range(16)))
    assert sorted(o.key for o in store.iter_objects(bucket)) == sorted(keys)
    for i in range(16):
        assert store.head(bucket, f"concurrent/{i:02d}").sha256 == sha(payload(10_000 + i, seed=i))


def test_copy_within_the_backend(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.copy)
    data = payload(100_000, seed=9)
    store.put(bucket, "src", data, content_type="image/png", metadata=METADATA)
    info = store.copy(bucket, "src", bucket, "dst dir/copy #1")
    assert info.sha256 == sha(data)
    head = store.head(bucket, "dst dir/copy #1")
    assert (head.size, head.sha256, head.content_type) == (len(data), sha(data), "image/png")
    assert dict(head.metadata) == METADATA
    assert store.get(bucket, "dst dir/copy #1").read() == data
    other = new_bucket_name()
    store.create_bucket(other)
    try:
        store.copy(bucket, "src", other, "copied")
        assert store.head(other, "copied").sha256 == sha(data)
        with pytest.raises(ObjectNotFound):
            store.copy(bucket, "missing", other, "x")
    finally:
        for o in list(store.iter_objects(other)):
            store.delete(other, o.key)
        store.delete_bucket(other)


def test_metadata_updates_in_place_while_the_object_is_unchanged(store: ObjectStore,
                                                                 bucket: str) -> None:
    require(store, Feature.metadata_update)
    data = payload(70_000, seed=4)
    store.put(bucket, "m", data, content_type="application/dicom", metadata={"old": "1"})
    before = store.head(bucket, "m")
    assert before.etag
    store.set_metadata(bucket, "m", {"new": "ünïcode", "Study": "42"}, if_etag=before.etag)
    after = store.head(bucket, "m")
    assert dict(after.metadata) == {"new": "ünïcode", "Study": "42"}
    assert (after.sha256, after.size, after.content_type) == \
        (before.sha256, before.size, "application/dicom")
    assert store.get(bucket, "m").read() == data
    # Rewritten since it was read: the update is refused and the new object keeps its own.
    store.put(bucket, "m", b"newer", metadata={"mine": "yes"})
    with pytest.raises(Conflict):
        store.set_metadata(bucket, "m", {"stale": "1"}, if_etag=after.etag or "")
    assert dict(store.head(bucket, "m").metadata) == {"mine": "yes"}
    with pytest.raises(ObjectNotFound):
        store.set_metadata(bucket, "absent", {}, if_etag="x")
