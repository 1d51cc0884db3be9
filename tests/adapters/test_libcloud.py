"""libcloud adapter specifics: what it leaves on disk, sidecar trust, key codec order, errors,
and the generic profile on a third real driver (OPENSTACK_SWIFT against the test Swift)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.config import LibcloudBackend
from adapters.errors import (AuthError, BucketNotFound, InvalidRequest, ObjectNotFound,
                             TransientError)
from adapters.libcloud.profiles import profile_for
from adapters.libcloud.store import LibcloudStore
from adapters.registry import build_store
from adapters.libcloud.profiles import GENERIC, HexPathCodec

from ..conformance.helpers import chunks, payload, sha
from ..rigs.libcloud import azurite_store
from ..servers.azurite import AzuriteServer, server_azurite  # noqa: F401 - fixtures
from ..servers.process import free_port
from ..servers.swift import SwiftServer, server_swift  # noqa: F401


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[LibcloudStore, Path, Path]]:
    root, spool = tmp_path / "root", tmp_path / "spool"
    root.mkdir()
    spool.mkdir()
    store = LibcloudStore("lc", "LOCAL", str(root), spool_dir=spool)
    store.create_bucket("bkt")
    yield store, root, spool


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


class Boom(Exception):
    pass


def failing() -> Iterator[bytes]:
    yield b"x" * 100_000
    raise Boom("source went away")


def test_failing_stream_leaves_no_file_anywhere(local: tuple[LibcloudStore, Path, Path]) -> None:
    store, root, spool = local
    with pytest.raises(Boom):
        store.put("bkt", "k", failing())
    assert files_under(root) == []
    assert files_under(spool) == []  # the spool file is removed too
    store.put("bkt", "k", b"ok")
    assert len(files_under(root)) == 2  # the object and its sidecar, nothing staged left over
    assert files_under(spool) == []


def test_stale_sidecar_is_not_believed(local: tuple[LibcloudStore, Path, Path]) -> None:
    store, root, _ = local
    store.put("bkt", "k", b"original", metadata={"a": "1"}, content_type="text/plain")
    assert store.head("bkt", "k").sha256 == sha(b"original")
    # Another tool rewrites the file behind Sortie's back: its recorded hash no longer applies.
    path = root / "bkt" / HexPathCodec().to_name("k")
    os.utime(path, ns=(0, 0))
    head = store.head("bkt", "k")
    assert head.sha256 is None and head.metadata == {}


def test_names_on_disk_are_hex_paths(local: tuple[LibcloudStore, Path, Path]) -> None:
    store, root, _ = local
    store.put("bkt", "a", b"1")
    store.put("bkt", "a/b", b"2")  # a file and a "folder" of the same name: fine in hex
    names = [n for n in files_under(root / "bkt") if not n.startswith(".sortie")]
    assert names == sorted([HexPathCodec().to_name("a"), HexPathCodec().to_name("a/b")])
    assert [o.key for o in store.iter_objects("bkt")] == ["a", "a/b"]


keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(st.lists(keys, min_size=1, max_size=20, unique=True), keys)
def test_hex_codec_keeps_byte_order_and_prefixes(sample: list[str], prefix: str) -> None:
    codec = HexPathCodec()
    names = sorted(codec.to_name(k) for k in sample)
    assert [codec.from_name(n) for n in names] == sorted(sample, key=lambda k: k.encode("utf-8"))
    for key in sample:
        assert codec.to_name(key).startswith(codec.to_prefix(prefix)) == key.startswith(prefix)
        assert all(len(part) <= 201 for part in codec.to_name(key).split("/"))


def test_wrong_azure_key_is_an_auth_error(server_azurite: AzuriteServer,  # noqa: F811
                                          tmp_path: Path) -> None:
    import base64
    store = azurite_store(server_azurite, tmp_path, secret=base64.b64encode(b"x" * 64).decode(),
                          name="lc-bad")
    with pytest.raises(AuthError):
        store.list_buckets()


def test_unreachable_azure_is_transient(tmp_path: Path) -> None:
    store = LibcloudStore("lc-down", "AZURE_BLOBS", "devstoreaccount1", "a2V5",
                          {"host": "127.0.0.1", "port": free_port(), "secure": False,
                           "timeout": 5}, spool_dir=tmp_path)
    with pytest.raises(TransientError):
        store.list_buckets()


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="unknown libcloud storage provider"):
        LibcloudStore("x", "NOT_A_PROVIDER", None)


def test_the_local_root_resolves_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    store = build_store("lc", LibcloudBackend(type="libcloud", provider="local", key="data"),
                        tmp_path)
    store.create_bucket("cfg")
    assert (tmp_path / "data" / "cfg").is_dir()


def test_unknown_driver_gets_the_generic_profile() -> None:
    assert profile_for("GOOGLE_STORAGE") is GENERIC
    assert profile_for("local").metadata is None


def test_generic_profile_on_openstack_swift(server_swift: SwiftServer,  # noqa: F811
                                            tmp_path: Path) -> None:
    """A third, real driver with no profile of its own: the generic assumptions hold."""
    store = LibcloudStore("lc-swift", "OPENSTACK_SWIFT", server_swift.user, server_swift.key,
                          {"ex_force_auth_url": server_swift.proxy_url + "/auth",
                           "ex_force_auth_version": "1.0",
                           "ex_force_base_url": server_swift.storage_url,
                           "secure": False},
                          spool_dir=tmp_path)
    store.create_bucket("lc-generic")
    try:
        data = payload(3_000_000, seed=5)
        store.put("lc-generic", "dir/obj", chunks(data, 100_000), content_type="image/png",
                  metadata={"Study": "CT", "note": "éà"})
        head = store.head("lc-generic", "dir/obj")
        assert (head.size, head.sha256, head.content_type) == (len(data), sha(data), "image/png")
        assert dict(head.metadata) == {"Study": "CT", "note": "éà"}
        assert store.get("lc-generic", "dir/obj").read() == data
        page = store.list("lc-generic", delimiter="/")
        assert page.common_prefixes == ["dir/"]
        store.delete("lc-generic", "dir/obj")
        with pytest.raises(ObjectNotFound):
            store.head("lc-generic", "dir/obj")
    finally:
        store.delete_bucket("lc-generic")
    with pytest.raises(BucketNotFound):
        store.head("lc-generic", "x")


def test_spool_problems_are_backend_errors(tmp_path: Path) -> None:
    from adapters.errors import BackendError
    (tmp_path / "root").mkdir()
    store = LibcloudStore("lc", "LOCAL", str(tmp_path / "root"), spool_dir=tmp_path / "missing")
    store.create_bucket("bkt")
    with pytest.raises(BackendError, match="spool"):
        store.put("bkt", "k", b"x")
    assert list(store.iter_objects("bkt")) == []


def test_objects_written_by_the_swift_adapter_read_the_same_through_libcloud(
        server_swift: SwiftServer, tmp_path: Path) -> None:  # noqa: F811
    """Same bytes, SHA-256, metadata and content type whichever adapter reads, SLO included."""
    from adapters.swift.store import SwiftStore
    from ..rigs.swift import SMALL_SEGMENTS, swift_auth
    native = SwiftStore("swift-native", swift_auth(server_swift), capabilities=SMALL_SEGMENTS)
    generic = LibcloudStore("lc-swift", "OPENSTACK_SWIFT", server_swift.user, server_swift.key,
                            {"ex_force_auth_url": server_swift.proxy_url + "/auth",
                             "ex_force_auth_version": "1.0",
                             "ex_force_base_url": server_swift.storage_url, "secure": False},
                            spool_dir=tmp_path)
    native.create_bucket("lc-cross")
    try:
        data = payload(3 * 1024 * 1024 + 7, seed=11)  # 4 SLO segments
        meta = {"plain": "v", "Study_ID": "é 1"}
        native.put("lc-cross", "slo", data, content_type="video/mp4", metadata=meta)
        head = generic.head("lc-cross", "slo")
        assert (head.size, head.sha256, head.content_type, dict(head.metadata)) == \
            (len(data), sha(data), "video/mp4", meta)
        assert generic.get("lc-cross", "slo").read() == data
    finally:
        for info in list(native.iter_objects("lc-cross")):
            native.delete("lc-cross", info.key)
        native.delete_bucket("lc-cross")
        native.close()
