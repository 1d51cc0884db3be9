"""Upload sessions (Feature.resumable_upload), run unchanged over every rig: parts survive the
caller, nothing shows before completion, and completion keeps the contract's hash rule."""

from __future__ import annotations

import hashlib

import pytest

from adapters.contract import Feature, ObjectStore
from adapters.errors import (HashMismatch, InvalidRequest, ObjectNotFound, StorageError,
                             UploadNotFound)

from .helpers import MiB, payload, require, sha


def _part_size(store: ObjectStore) -> int:
    return max(store.capabilities.min_part_size, 1 * MiB)


def _object(store: ObjectStore, seed: int = 1) -> tuple[bytes, list[bytes]]:
    size = _part_size(store)
    data = payload(2 * size + 1000, seed=seed)
    return data, [data[0:size], data[size:2 * size], data[2 * size:]]


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_parts_in_any_order_become_one_object(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.resumable_upload)
    data, parts = _object(store)
    upload = store.start_upload(bucket, "scan/series-1", sha256=sha(data),
                                content_type="application/dicom", metadata={"Study": "CT-42"})
    for number in (2, 3, 1):
        sent = store.upload_part(bucket, "scan/series-1", upload, number, parts[number - 1])
        assert sent.holds(_md5(parts[number - 1]), len(parts[number - 1]))
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "scan/series-1")
    assert store.list(bucket).objects == []
    held = store.list_parts(bucket, "scan/series-1", upload)
    assert [p.number for p in held] == [1, 2, 3]
    assert all(p.holds(_md5(parts[p.number - 1]), len(parts[p.number - 1])) for p in held)
    info = store.complete_upload(bucket, "scan/series-1", upload, held, sha256=sha(data))
    assert (info.size, info.sha256) == (len(data), sha(data))
    head = store.head(bucket, "scan/series-1")
    assert (head.size, head.sha256, head.content_type) == (len(data), sha(data),
                                                           "application/dicom")
    assert head.metadata == {"Study": "CT-42"}
    with store.get(bucket, "scan/series-1") as body:
        assert sha(body.read()) == sha(data)


def test_a_session_started_without_a_hash(store: ObjectStore, bucket: str) -> None:
    """An S3 client's multipart upload: nobody knows the SHA-256 before the parts are sent. The
    object records none, or (where completing reads the parts) the one measured, never another."""
    require(store, Feature.resumable_upload)
    data, parts = _object(store, seed=7)
    upload = store.start_upload(bucket, "unhashed", sha256=None, metadata={"Study": "MR-7"})
    sent = [store.upload_part(bucket, "unhashed", upload, n, p) for n, p in enumerate(parts, 1)]
    with pytest.raises(HashMismatch):  # a hash the session never announced is not recorded
        store.complete_upload(bucket, "unhashed", upload, sent, sha256=sha(b"other"))
    upload = store.start_upload(bucket, "unhashed", sha256=None, metadata={"Study": "MR-7"})
    sent = [store.upload_part(bucket, "unhashed", upload, n, p) for n, p in enumerate(parts, 1)]
    info = store.complete_upload(bucket, "unhashed", upload, sent, sha256=None)
    head = store.head(bucket, "unhashed")
    assert info.size == head.size == len(data)
    assert info.sha256 in (None, sha(data)) and head.sha256 == info.sha256
    assert head.metadata == {"Study": "MR-7"}
    with store.get(bucket, "unhashed") as body:
        assert sha(body.read()) == sha(data)


def test_a_part_sent_again_replaces_the_first(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.resumable_upload)
    data, parts = _object(store, seed=2)
    upload = store.start_upload(bucket, "again", sha256=sha(data))
    store.upload_part(bucket, "again", upload, 1, payload(len(parts[0]), seed=99))
    sent = [store.upload_part(bucket, "again", upload, n, p) for n, p in enumerate(parts, 1)]
    held = store.list_parts(bucket, "again", upload)
    # One entry per number; where the backend still says which bytes a part holds, they are the
    # latest (a backend that kept both copies says it cannot tell: md5 None, send it again).
    assert [p.number for p in held] == [1, 2, 3]
    assert held[0].md5 is None or held[0].holds(_md5(parts[0]), len(parts[0]))
    store.complete_upload(bucket, "again", upload, sent, sha256=sha(data))
    assert sha(store.get(bucket, "again").read()) == sha(data)


def test_another_hash_than_announced_stores_nothing(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.resumable_upload)
    store.put(bucket, "kept", b"the earlier object")
    data, parts = _object(store, seed=3)
    upload = store.start_upload(bucket, "kept", sha256=sha(b"something else"))
    sent = [store.upload_part(bucket, "kept", upload, n, p) for n, p in enumerate(parts, 1)]
    with pytest.raises(HashMismatch):
        store.complete_upload(bucket, "kept", upload, sent, sha256=sha(data))
    assert store.get(bucket, "kept").read() == b"the earlier object"


def test_an_overwrite_shows_the_old_object_until_completion(store: ObjectStore,
                                                            bucket: str) -> None:
    require(store, Feature.resumable_upload)
    store.put(bucket, "report", b"version 1")
    data, parts = _object(store, seed=4)
    upload = store.start_upload(bucket, "report", sha256=sha(data))
    sent = [store.upload_part(bucket, "report", upload, n, p) for n, p in enumerate(parts, 1)]
    assert store.get(bucket, "report").read() == b"version 1"
    store.complete_upload(bucket, "report", upload, sent, sha256=sha(data))
    assert store.head(bucket, "report").sha256 == sha(data)


def test_abort_leaves_nothing_visible(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.resumable_upload)
    data, parts = _object(store, seed=5)
    upload = store.start_upload(bucket, "dropped", sha256=sha(data))
    store.upload_part(bucket, "dropped", upload, 1, parts[0])
    store.abort_upload(bucket, "dropped", upload)
    store.abort_upload(bucket, "dropped", upload)  # a second abort is a no-op
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "dropped")
    assert store.list(bucket).objects == []


def test_small_parts_before_the_last_are_refused(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.resumable_upload)
    if store.capabilities.smallest_part <= 1:
        pytest.skip(f"{store.name} accepts parts of any size")
    data = b"ab"
    upload = store.start_upload(bucket, "tiny", sha256=sha(data))
    sent = [store.upload_part(bucket, "tiny", upload, 1, b"a"),
            store.upload_part(bucket, "tiny", upload, 2, b"b")]
    with pytest.raises(InvalidRequest):
        store.complete_upload(bucket, "tiny", upload, sent, sha256=sha(data))
    store.abort_upload(bucket, "tiny", upload)


def test_an_upload_id_from_elsewhere_is_refused(store: ObjectStore, bucket: str) -> None:
    require(store, Feature.resumable_upload)
    with pytest.raises(InvalidRequest):
        store.list_parts(bucket, "k", "not an upload id")
    data, _ = _object(store, seed=6)
    upload = store.start_upload(bucket, "mine", sha256=sha(data))
    with pytest.raises(StorageError):  # another key's session: not found, or no parts of it
        parts = store.list_parts(bucket, "theirs", upload)
        if parts == []:
            raise UploadNotFound("none")
    store.abort_upload(bucket, "mine", upload)


def test_sessions_refused_where_unsupported(store: ObjectStore, bucket: str) -> None:
    if store.capabilities.honours(Feature.resumable_upload):
        pytest.skip(f"{store.name} honours upload sessions")
    with pytest.raises(StorageError) as caught:
        store.start_upload(bucket, "k", sha256=sha(b""))
    assert caught.value.http_status == 501
