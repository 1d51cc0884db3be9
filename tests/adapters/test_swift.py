"""Swift specifics on a real Swift: SLOs really used and cleaned up, auth and network errors.

The behaviours common to every backend are in tests/conformance/; here we look inside Swift
(with python-swiftclient directly) to check what the adapter leaves there.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest
import swiftclient
from swiftclient.exceptions import ClientException

from adapters.config import SwiftBackend
from adapters.contract import MiB
from adapters.errors import AuthError, InvalidRequest, ObjectNotFound, TransientError
from adapters.registry import build_store
from adapters.swift.auth import Limits
from adapters.swift.store import SwiftStore
from adapters.swift.store import segments_container

from ..conftest import empty_and_delete, new_bucket_name
from ..conformance.helpers import chunks, payload, sha
from ..rigs.swift import SMALL_SEGMENTS, swift_auth
from ..servers.process import free_port
from ..servers.swift import SwiftServer, server_swift  # noqa: F401 - the fixture


@pytest.fixture(scope="module")
def raw(server_swift: SwiftServer) -> swiftclient.Connection:  # noqa: F811
    return swiftclient.Connection(authurl=server_swift.auth_url, user=server_swift.user,
                                  key=server_swift.key, auth_version="1")


@pytest.fixture(scope="module")
def slo_store(server_swift: SwiftServer) -> Iterator[SwiftStore]:  # noqa: F811
    store = SwiftStore("swift-slo", swift_auth(server_swift), capabilities=SMALL_SEGMENTS)
    yield store
    store.close()


@pytest.fixture
def bucket(slo_store: SwiftStore) -> Iterator[str]:
    name = new_bucket_name()
    slo_store.create_bucket(name)
    yield name
    empty_and_delete(slo_store, name)


def segment_names(raw: swiftclient.Connection, bucket: str) -> list[str]:
    try:
        _, items = raw.get_container(segments_container(bucket), full_listing=True)
    except ClientException as exc:
        if exc.http_status == 404:
            return []
        raise
    return [item["name"] for item in items]


def manifest(raw: swiftclient.Connection, bucket: str, key: str) -> list[dict[str, object]]:
    headers, body = raw.get_object(bucket, key, query_string="multipart-manifest=get")
    assert headers.get("x-static-large-object") == "True"
    return json.loads(body)


def test_40mib_is_an_slo_of_many_segments(slo_store: SwiftStore, raw: swiftclient.Connection,
                                          bucket: str) -> None:
    data = payload(40 * MiB, seed=4)
    slo_store.put(bucket, "big", chunks(data, 3 * MiB + 1), metadata={"study": "x"})
    segments = manifest(raw, bucket, "big")
    assert len(segments) == 40
    assert sum(int(s["bytes"]) for s in segments) == len(data)  # type: ignore[call-overload]
    assert sorted(f"/{segments_container(bucket)}/{n}" for n in segment_names(raw, bucket)) == \
        sorted(str(s["name"]) for s in segments)
    # Sortie's SHA-256 rides on the manifest, where any Swift client can see it.
    headers = raw.head_object(bucket, "big")
    assert headers["x-object-meta-sortie-sha256"] == sha(data)
    # The segments container is an implementation detail, not a bucket.
    assert segments_container(bucket) not in slo_store.list_buckets()
    assert bucket in slo_store.list_buckets()


def test_delete_removes_the_segments(slo_store: SwiftStore, raw: swiftclient.Connection,
                                     bucket: str) -> None:
    slo_store.put(bucket, "big", payload(5 * MiB + 3))
    assert len(segment_names(raw, bucket)) == 6
    slo_store.delete(bucket, "big")
    assert segment_names(raw, bucket) == []
    with pytest.raises(ObjectNotFound):
        slo_store.head(bucket, "big")


def test_overwrite_deletes_the_old_segments_after_the_new_object_lands(
        slo_store: SwiftStore, raw: swiftclient.Connection, bucket: str) -> None:
    slo_store.put(bucket, "k", payload(3 * MiB, seed=1))
    first = set(segment_names(raw, bucket))
    slo_store.put(bucket, "k", payload(2 * MiB + 1, seed=2))
    second = set(segment_names(raw, bucket))
    assert len(second) == 3 and not first & second
    slo_store.put(bucket, "k", b"small now")
    assert segment_names(raw, bucket) == []
    assert slo_store.get(bucket, "k").read() == b"small now"


class Boom(Exception):
    pass


def failing(total: int, fail_at: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        if sent >= fail_at:
            raise Boom("source went away")
        yield payload(256 * 1024, seed=sent)
        sent += 256 * 1024


def test_failing_stream_leaves_no_segments(slo_store: SwiftStore, raw: swiftclient.Connection,
                                           bucket: str) -> None:
    with pytest.raises(Boom):
        slo_store.put(bucket, "partial", failing(12 * MiB, 5 * MiB))
    assert segment_names(raw, bucket) == []
    _, objects = raw.get_container(bucket)
    assert objects == []
    # The store still works on this thread after the aborted upload.
    slo_store.put(bucket, "after", payload(2 * MiB))
    assert slo_store.head(bucket, "after").size == 2 * MiB


def test_hash_mismatch_on_a_large_stream_leaves_no_segments(
        slo_store: SwiftStore, raw: swiftclient.Connection, bucket: str) -> None:
    from adapters.errors import IntegrityError
    with pytest.raises(IntegrityError):
        slo_store.put(bucket, "wrong", chunks(payload(3 * MiB), MiB), expected_sha256="0" * 64)
    assert segment_names(raw, bucket) == []


def test_copy_of_an_slo_owns_its_segments(slo_store: SwiftStore, raw: swiftclient.Connection,
                                          bucket: str) -> None:
    data = payload(3 * MiB + 5, seed=8)
    slo_store.put(bucket, "src", data, content_type="video/mp4", metadata={"Who": "me"})
    other = new_bucket_name()
    slo_store.create_bucket(other)
    try:
        info = slo_store.copy(bucket, "src", other, "dst")
        assert (info.sha256, info.content_type, dict(info.metadata)) == \
            (sha(data), "video/mp4", {"Who": "me"})
        assert len(manifest(raw, other, "dst")) == 4
        slo_store.delete(bucket, "src")
        assert segment_names(raw, bucket) == []
        assert slo_store.get(other, "dst").read() == data
    finally:
        empty_and_delete(slo_store, other)
    assert segment_names(raw, other) == []


def test_bucket_delete_removes_the_segments_container(slo_store: SwiftStore,
                                                      raw: swiftclient.Connection) -> None:
    name = new_bucket_name()
    slo_store.create_bucket(name)
    slo_store.put(name, "big", payload(2 * MiB))
    slo_store.delete(name, "big")
    # An orphan, as a crashed gateway could leave: it must not keep the container alive.
    raw.put_object(segments_container(name), "orphan/00000001", b"x")
    slo_store.delete_bucket(name)
    with pytest.raises(ClientException) as err:
        raw.head_container(segments_container(name))
    assert err.value.http_status == 404


def test_wrong_password_is_an_auth_error(server_swift: SwiftServer) -> None:  # noqa: F811
    store = SwiftStore("swift-bad", swift_auth(server_swift, key="not-the-password"))
    with pytest.raises(AuthError) as err:
        store.list_buckets()
    assert "credentials" in str(err.value) or "authentication" in str(err.value)
    with pytest.raises(AuthError):
        store.put("some-bucket", "k", b"x")


def test_proxy_down_is_transient_and_bounded(server_swift: SwiftServer) -> None:  # noqa: F811
    store = SwiftStore("swift-down", swift_auth(server_swift), limits=Limits(timeout=5, retries=1))
    store.list_buckets()
    server_swift.stop()
    try:
        started = time.monotonic()
        with pytest.raises(TransientError):
            store.list_buckets()
        assert time.monotonic() - started < 15
    finally:
        server_swift.start()
    store.list_buckets()  # and it recovers once the proxy is back


def test_keystone_unreachable_is_transient() -> None:
    settings = SwiftBackend(type="swift", auth_url=f"http://127.0.0.1:{free_port()}/v3",
                            username="u", password="p", project="proj", region="GRA",
                            timeout=3, retries=0)
    store = build_store("ks", settings, Path("."))
    with pytest.raises(TransientError):
        store.list_buckets()


def test_ovhcloud_preset_fills_auth_url_and_region() -> None:
    settings = SwiftBackend(type="swift", preset="ovhcloud", username="u", password="p",
                            project="proj")
    store = build_store("ovh", settings, Path("."))
    auth = store._pool.auth
    assert (auth.auth_url, auth.region, auth.auth_version) == \
        ("https://auth.cloud.ovh.net/v3", "GRA", "3")
    assert store.capabilities.max_parts == 1000


def test_incomplete_keystone_settings_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="project"):
        build_store("ovh", SwiftBackend(type="swift", preset="ovhcloud", username="u",
                                        password="p"), Path("."))
    with pytest.raises(InvalidRequest, match="application_credential_secret"):
        build_store("ovh", SwiftBackend(type="swift", preset="ovhcloud",
                                        application_credential_id="id"), Path("."))
