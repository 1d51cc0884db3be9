"""S3 adapter behaviours beyond the conformance suite, on real servers (SeaweedFS, Swift s3api)."""

from __future__ import annotations

import hashlib
import time
from typing import Any, Iterator

import pytest
from minio import Minio

from adapters.contract import MiB, ObjectStore
from adapters.errors import AuthError, IntegrityError, ObjectNotFound, TransientError
from adapters.s3.store import S3Store
from tests.conformance.helpers import chunks, payload, sha
from tests.rigs import Rig
from tests.rigs.s3 import s3_store, seaweed_store
from tests.servers.process import free_port
from tests.servers.seaweedfs import SeaweedServer

from ..conftest import empty_and_delete, new_bucket_name

S3_RIGS = ["s3-seaweedfs", "s3-swift-s3api"]


@pytest.fixture(params=S3_RIGS)
def s3_rig(request: pytest.FixtureRequest) -> Rig:
    return request.getfixturevalue("rig_" + request.param.replace("-", "_"))


@pytest.fixture
def sw_bucket(rig_s3_seaweedfs: Rig) -> Iterator[str]:
    name = new_bucket_name()
    rig_s3_seaweedfs.store.create_bucket(name)
    yield name
    empty_and_delete(rig_s3_seaweedfs.store, name)


@pytest.fixture
def rig_bucket(s3_rig: Rig) -> Iterator[str]:
    name = new_bucket_name()
    s3_rig.store.create_bucket(name)
    yield name
    empty_and_delete(s3_rig.store, name)


def inner(store: ObjectStore) -> S3Store:
    """The S3Store under the retry layer (to reach its boto3 client)."""
    found = getattr(store, "inner", store)
    assert isinstance(found, S3Store)
    return found


def parts_of(etag: str | None) -> int:
    """Number of parts of a multipart object from its ETag ("md5-N"); 1 for a single PUT."""
    assert etag is not None
    return int(etag.rsplit("-", 1)[1]) if "-" in etag else 1


def pending_uploads(store: ObjectStore, bucket: str) -> list[Any]:
    reply = inner(store).client.list_multipart_uploads(Bucket=bucket)
    return list(reply.get("Uploads", []))


# ---- multipart, quirks and integrity --------------------------------------------------------

def test_40mib_really_goes_multipart(s3_rig: Rig, rig_bucket: str) -> None:
    store = s3_rig.multipart_store
    assert store is not None
    data = payload(40 * MiB, seed=1)
    store.put(rig_bucket, "forty", chunks(data, 1 * MiB + 3))
    head = store.head(rig_bucket, "forty")
    assert parts_of(head.etag) == 8  # 5 MiB parts
    assert head.sha256 == sha(data)


def test_small_object_is_one_put(s3_rig: Rig, rig_bucket: str) -> None:
    data = payload(100_000)
    s3_rig.store.put(rig_bucket, "small", chunks(data, 4096))
    head = s3_rig.store.head(rig_bucket, "small")
    assert head.etag == hashlib.md5(data).hexdigest()  # a single PUT's ETag is its MD5


def test_max_parts_quirk_bounds_an_unknown_length_stream(server_seaweedfs: SeaweedServer,
                                                         sw_bucket: str) -> None:
    """A provider with a 10-part limit: 120 MiB of unknown length goes up in at most 10 parts."""
    store = seaweed_store(server_seaweedfs, "sw-10-parts", max_parts=10)
    try:
        data = payload(120 * MiB, seed=120)
        info = store.put(sw_bucket, "big", chunks(data, 1 * MiB + 7))
        assert info.size == len(data)
        head = store.head(sw_bucket, "big")
        assert 1 < parts_of(head.etag) <= 10
        digest = hashlib.sha256()
        with store.get(sw_bucket, "big") as body:
            for piece in body:
                digest.update(piece)
        assert digest.hexdigest() == sha(data) == head.sha256
        # The streaming path (size and hash announced) obeys the same bound.
        store.put(sw_bucket, "big2", chunks(data, 2 * MiB), size=len(data),
                  expected_sha256=sha(data))
        assert 1 < parts_of(store.head(sw_bucket, "big2").etag) <= 10
    finally:
        store.close()


def test_parts_too_big_for_memory_go_through_files(s3_rig: Rig, rig_bucket: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts above PART_MEMORY (huge parts, e.g. 1 TB on Scaleway's 1,000 parts) are sent from
    disk: slices of the spool, or a temporary file each when the hash was announced."""
    from adapters.s3 import parts

    monkeypatch.setattr(parts, "PART_MEMORY", 1 * MiB)
    store = s3_rig.multipart_store
    assert store is not None
    data = payload(17 * MiB, seed=17)
    store.put(rig_bucket, "spooled", chunks(data, MiB + 1))
    store.put(rig_bucket, "streamed", chunks(data, MiB + 1), size=len(data),
              expected_sha256=sha(data))
    for key in ("spooled", "streamed"):
        head = store.head(rig_bucket, key)
        assert (parts_of(head.etag), head.sha256) == (4, sha(data))
        assert sha(store.get(rig_bucket, key).read()) == sha(data)
    with pytest.raises(IntegrityError):
        store.put(rig_bucket, "bad", chunks(data, MiB), size=len(data),
                  expected_sha256=sha(b"other"))
    assert pending_uploads(store, rig_bucket) == []


def test_announced_hash_streams_and_a_mismatch_aborts(s3_rig: Rig, rig_bucket: str) -> None:
    store = s3_rig.multipart_store
    assert store is not None
    data = payload(12 * MiB, seed=12)
    info = store.put(rig_bucket, "ok", chunks(data, MiB), size=len(data),
                     expected_sha256=sha(data))
    assert parts_of(store.head(rig_bucket, "ok").etag) == 3 and info.sha256 == sha(data)
    with pytest.raises(IntegrityError):
        store.put(rig_bucket, "bad", chunks(data, MiB), size=len(data),
                  expected_sha256=sha(b"something else"))
    with pytest.raises(ObjectNotFound):
        store.head(rig_bucket, "bad")
    assert pending_uploads(store, rig_bucket) == []


def test_failing_stream_aborts_the_multipart_upload(s3_rig: Rig, rig_bucket: str) -> None:
    store = s3_rig.multipart_store
    assert store is not None

    def failing() -> Iterator[bytes]:
        yield payload(11 * MiB)
        raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError):
        store.put(rig_bucket, "partial", failing(), size=20 * MiB,
                  expected_sha256=sha(b"x"))
    with pytest.raises(ObjectNotFound):
        store.head(rig_bucket, "partial")
    assert pending_uploads(store, rig_bucket) == []


def test_a_part_damaged_on_the_wire_is_refused_and_nothing_is_stored(s3_rig: Rig,
                                                                       rig_bucket: str) -> None:
    """Each part carries a checksum the server checks (CRC32 on SeaweedFS, Content-MD5 on
    Swift); a body altered after it was computed must fail the put and leave nothing."""
    store = s3_rig.multipart_store
    assert store is not None
    client = inner(store).client

    def damage(request: Any, **_: Any) -> None:
        body = request.body.read() if hasattr(request.body, "read") else bytes(request.body)
        request.body = b"\0" + body[1:]

    client.meta.events.register("before-send.s3.UploadPart", damage)
    try:
        with pytest.raises(TransientError, match="different bytes"):
            store.put(rig_bucket, "damaged", payload(11 * MiB))
    finally:
        client.meta.events.unregister("before-send.s3.UploadPart", damage)
    with pytest.raises(ObjectNotFound):
        store.head(rig_bucket, "damaged")
    assert pending_uploads(store, rig_bucket) == []


def test_delete_many_sends_content_md5(s3_rig: Rig, rig_bucket: str) -> None:
    """DeleteObjects needs Content-MD5 on Swift's s3api (botocore would send CRC32)."""
    keys = [f"batch/{i}" for i in range(5)]
    for key in keys:
        s3_rig.store.put(rig_bucket, key, b"x")
    inner(s3_rig.store).delete_many(rig_bucket, keys + ["batch/missing"])
    assert list(s3_rig.store.iter_objects(rig_bucket)) == []


def test_streamed_and_server_side_copy_agree(server_seaweedfs: SeaweedServer,
                                             rig_s3_seaweedfs: Rig, sw_bucket: str) -> None:
    assert rig_s3_seaweedfs.store.capabilities.server_side_copy
    streamed = seaweed_store(server_seaweedfs, "sw-no-copy", server_side_copy=False)
    try:
        assert not streamed.capabilities.server_side_copy
        data = payload(300_000)
        rig_s3_seaweedfs.store.put(sw_bucket, "src", data, metadata={"a": "1"})
        for store, key in ((rig_s3_seaweedfs.store, "server"), (streamed, "streamed")):
            info = store.copy(sw_bucket, "src", sw_bucket, key)
            assert (info.sha256, dict(info.metadata)) == (sha(data), {"a": "1"})
            assert store.get(sw_bucket, key).read() == data
    finally:
        streamed.close()


# ---- keys on a file-tree server --------------------------------------------------------------

def test_plain_keys_are_stored_as_they_are_and_awkward_ones_escaped(
        rig_s3_seaweedfs: Rig, sw_bucket: str) -> None:
    store = rig_s3_seaweedfs.store
    for key in ["plain/key.txt", "a//b", "back\\slash", "dir/"]:
        store.put(sw_bucket, key, key.encode())
    stored = sorted(o["Key"] for o in inner(store).client.list_objects_v2(
        Bucket=sw_bucket)["Contents"])
    assert "plain/key.txt" in stored  # other tools read it under its own name
    assert "a/.1/b" in stored and "back[1slash" in stored
    assert [o.key for o in store.iter_objects(sw_bucket)] == [
        "a//b", "back\\slash", "dir/", "plain/key.txt"]
    assert store.get(sw_bucket, "dir/").read() == b"dir/"


def test_deleted_objects_leave_no_empty_prefixes(s3_rig: Rig, rig_bucket: str) -> None:
    """SeaweedFS keeps a directory after its last object is deleted; S3 has no such thing."""
    store = s3_rig.store
    for key in ("d/x", "d/e/f", "top"):
        store.put(rig_bucket, key, b"1")
    store.delete(rig_bucket, "d/x")
    store.delete(rig_bucket, "d/e/f")
    top = store.list(rig_bucket, delimiter="/")
    assert ([o.key for o in top.objects], top.common_prefixes) == (["top"], [])
    inside = store.list(rig_bucket, "d/", delimiter="/")
    assert (inside.objects, inside.common_prefixes) == ([], [])
    assert [o.key for o in store.iter_objects(rig_bucket)] == ["top"]


def test_listing_keys_come_back_exactly_through_url_encoding(rig_s3_seaweedfs: Rig,
                                                             sw_bucket: str) -> None:
    """SeaweedFS url-encodes listed keys form-style (space as "+", "+" as "%2B"): a plain
    unquote would turn spaces into "+"; botocore's own EncodingType=url handling (unquote_plus)
    is what the adapter relies on."""
    from urllib.parse import unquote, unquote_plus

    key = "with space+plus é.txt"
    rig_s3_seaweedfs.store.put(sw_bucket, key, b"x")
    raw = inner(rig_s3_seaweedfs.store).client.list_objects_v2(Bucket=sw_bucket,
                                                               EncodingType="url")
    encoded = raw["Contents"][0]["Key"]
    assert unquote(encoded) != key and unquote_plus(encoded) == key
    assert [o.key for o in rig_s3_seaweedfs.store.iter_objects(sw_bucket)] == [key]


# ---- other clients ---------------------------------------------------------------------------

def _minio(server: SeaweedServer) -> Minio:
    return Minio(server.endpoint.removeprefix("http://"), access_key=server.access_key,
                 secret_key=server.secret_key, secure=False, region=server.region)


def test_minio_client_reads_what_the_adapter_wrote(server_seaweedfs: SeaweedServer,
                                                   rig_s3_seaweedfs: Rig, sw_bucket: str) -> None:
    data = payload(70_000, seed=5)
    rig_s3_seaweedfs.store.put(sw_bucket, "cross/adapter.bin", data, content_type="image/png",
                               metadata={"study": "ct-42", "site": "Paris"})
    client = _minio(server_seaweedfs)
    reply = client.get_object(sw_bucket, "cross/adapter.bin")
    try:
        assert reply.read() == data
    finally:
        reply.close()
        reply.release_conn()
    stat = client.stat_object(sw_bucket, "cross/adapter.bin")
    assert stat.content_type == "image/png"
    meta = {k.lower(): v for k, v in (stat.metadata or {}).items()}
    assert meta["x-amz-meta-study"] == "ct-42" and meta["x-amz-meta-site"] == "Paris"
    assert meta["x-amz-meta-sortie-sha256"] == sha(data)


def test_adapter_reads_what_the_minio_client_wrote(server_seaweedfs: SeaweedServer,
                                                   rig_s3_seaweedfs: Rig, sw_bucket: str) -> None:
    import io

    data = payload(50_000, seed=6)
    _minio(server_seaweedfs).put_object(sw_bucket, "cross/minio.bin", io.BytesIO(data), len(data),
                                        content_type="text/csv", metadata={"origin": "minio"})
    head = rig_s3_seaweedfs.store.head(sw_bucket, "cross/minio.bin")
    assert head.sha256 is None  # no ingest hash: another tool wrote it
    assert (head.size, head.content_type, dict(head.metadata)) == (len(data), "text/csv",
                                                                   {"origin": "minio"})
    assert rig_s3_seaweedfs.store.get(sw_bucket, "cross/minio.bin").read() == data


# ---- errors ----------------------------------------------------------------------------------

def test_wrong_secret_is_an_auth_error_saying_so(server_seaweedfs: SeaweedServer,
                                                 sw_bucket: str) -> None:
    store = s3_store("sw-bad-secret", server_seaweedfs.endpoint, server_seaweedfs.access_key,
                     "not-the-secret", server_seaweedfs.region, "seaweedfs")
    try:
        with pytest.raises(AuthError, match="secret key does not match"):
            store.list_buckets()
        with pytest.raises(AuthError):
            store.put(sw_bucket, "k", b"x")
    finally:
        store.close()


def test_unknown_access_key_is_an_auth_error(server_seaweedfs: SeaweedServer) -> None:
    store = s3_store("sw-bad-key", server_seaweedfs.endpoint, "NOSUCHKEY", "whatever",
                     server_seaweedfs.region, "seaweedfs")
    try:
        with pytest.raises(AuthError, match="access key"):
            store.list_buckets()
    finally:
        store.close()


def test_unreachable_endpoint_fails_clearly_and_quickly() -> None:
    store = s3_store("nowhere", f"http://127.0.0.1:{free_port()}", "k", "s", "us-east-1",
                     "seaweedfs")
    started = time.monotonic()
    try:
        with pytest.raises(TransientError, match="cannot connect to the endpoint"):
            store.list_buckets()
    finally:
        store.close()
    assert time.monotonic() - started < 20


def test_only_operations_that_embed_errors_in_a_200_have_their_body_parsed_twice() -> None:
    """botocore looks for an <Error> inside every 200 XML answer (a second parse of each listing
    page); S3 sends one only for copies and multipart completion, which keep the check."""
    from botocore import handlers

    from adapters.config import S3Backend
    from adapters.registry import build_bare
    from adapters.s3.client import ERRORS_IN_200

    settings = S3Backend(type="s3", preset="seaweedfs", endpoint="http://127.0.0.1:9",
                         region="us-east-1", access_key="a", secret_key="b")  # type: ignore[arg-type]
    client = build_bare("s3", settings).client  # type: ignore[attr-defined]

    def checks(operation: str) -> bool:
        handlers_of = client.meta.events._emitter._handlers.prefix_search
        return handlers._handle_200_error in list(handlers_of(f"before-parse.s3.{operation}"))

    assert not checks("ListObjectsV2") and not checks("HeadObject")
    assert all(checks(operation) for operation in ERRORS_IN_200)


@pytest.mark.parametrize("value", ["2026-12-03T08:18:25.226Z", "2026-12-03T08:18:25Z",
                                   "2026-12-03T08:18:25+02:00", "Thu, 03 Dec 2026 08:18:25 GMT",
                                   "2026-12-03T08:18:25", "1700000000", "not a time"])
def test_fast_timestamps_read_what_botocore_reads(value: str) -> None:
    from botocore.utils import parse_timestamp

    from adapters.s3.client import fast_timestamp

    try:
        expected = parse_timestamp(value)
    except ValueError:
        with pytest.raises(ValueError):
            fast_timestamp(value)
        return
    assert fast_timestamp(value) == expected
