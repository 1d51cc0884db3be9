"""What only the Azure adapter must prove, against Azurite: blobs written by other tools read
fine and report no hash, large objects really go as staged blocks, and credential or network
failures give a clear error in bounded time."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Iterator

import pytest
from azure.storage.blob import BlobServiceClient, ContentSettings

from adapters.azure.store import AZURE_CAPABILITIES
from adapters.registry import build_store
from adapters.azure.blocks import block_sizes, split
from adapters.keys.backslash import from_blob_name, to_blob_name
from adapters.azure.preset import load_preset
from adapters.config import AzureBackend
from adapters.contract import ByteRange, MiB, TiB
from adapters.errors import AuthError, InvalidRequest, ObjectNotFound, TransientError
from adapters.metadata import AZURE_RULES

from ..conftest import empty_and_delete, new_bucket_name
from ..rigs import Rig
from ..servers.azurite import ACCOUNT, ACCOUNT_KEY, AzuriteServer
from ..servers.process import free_port

BLOCK = 1024 * 1024 + 7  # odd, so that ranges straddle block edges at odd offsets


def _data(size: int) -> bytes:
    return b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(size // 32 + 1))[:size]


@pytest.fixture
def rig(rig_azure_azurite: Rig) -> Rig:
    return rig_azure_azurite


@pytest.fixture
def sdk(rig: Rig) -> BlobServiceClient:
    return rig.extras["client"]()  # type: ignore[no-any-return]


@pytest.fixture
def container(rig: Rig) -> Iterator[str]:
    name = new_bucket_name()
    rig.store.create_bucket(name)
    yield name
    empty_and_delete(rig.store, name)


FOREIGN_METADATA = {"Project": "alpha", "owner_team": "Radiology", "note": "=?UTF-8?B?w6l0w6k=?="}


def test_blob_written_by_another_tool_reads_fine_without_hash(rig: Rig, sdk: BlobServiceClient,
                                                              container: str) -> None:
    data = _data(4 * BLOCK - 100)
    blob = sdk.get_blob_client(container, "foreign/scan 01.dcm")
    ids = [base64.b64encode(f"blk-{i:04d}".encode()).decode() for i in range(4)]
    for i, block_id in enumerate(ids):
        blob.stage_block(block_id, data[i * BLOCK:(i + 1) * BLOCK])  # no Content-MD5
    blob.commit_block_list(ids, metadata=FOREIGN_METADATA,
                           content_settings=ContentSettings(content_type="application/dicom"))
    assert len(blob.get_block_list("committed")[0]) == 4
    assert blob.get_blob_properties().content_settings.content_md5 is None

    store = rig.store
    [listed] = store.list(container, "foreign/").objects
    assert (listed.key, listed.size, listed.sha256) == ("foreign/scan 01.dcm", len(data), None)
    head = store.head(container, "foreign/scan 01.dcm")
    assert head.sha256 is None
    assert head.content_type == "application/dicom"
    # Foreign metadata comes back as the backend holds it, encoded words decoded.
    assert dict(head.metadata) == {"Project": "alpha", "owner_team": "Radiology", "note": "été"}
    with store.get(container, "foreign/scan 01.dcm") as body:
        assert body.info.sha256 is None
        assert body.read() == data
    with store.get(container, "foreign/scan 01.dcm", ByteRange(BLOCK - 3, 2 * BLOCK + 2)) as body:
        assert body.read() == data[BLOCK - 3:2 * BLOCK + 3]
    with store.get(container, "foreign/scan 01.dcm", ByteRange.last(10)) as body:
        assert body.read() == data[-10:]
        assert (body.start, body.end) == (len(data) - 10, len(data) - 1)


def test_foreign_single_put_and_fake_hash_are_not_trusted(rig: Rig, sdk: BlobServiceClient,
                                                          container: str) -> None:
    sdk.get_blob_client(container, "one-shot").upload_blob(b"hello", validate_content=True)
    sdk.get_blob_client(container, "fake").upload_blob(
        b"x", metadata={"sortie_sha256": "not-a-hash"})
    assert rig.store.head(container, "one-shot").sha256 is None
    assert rig.store.head(container, "fake").sha256 is None
    # A copy keeps "unknown" unknown: no hash is invented on the way.
    assert rig.store.copy(container, "one-shot", container, "copied").sha256 is None
    assert rig.store.get(container, "copied").read() == b"hello"


def test_sortie_metadata_is_stored_as_csharp_identifiers(rig: Rig, sdk: BlobServiceClient,
                                                         container: str) -> None:
    data = b"payload"
    rig.store.put(container, "k", data, metadata={"Patient-Study": "CT", "ok_name": "v"})
    raw = sdk.get_blob_client(container, "k").get_blob_properties().metadata
    assert raw["sortie_sha256"] == hashlib.sha256(data).hexdigest()
    assert raw["ok_name"] == "v"
    assert all(AZURE_RULES.native_key.fullmatch(name) for name in raw)
    assert rig.store.head(container, "k").metadata == {"Patient-Study": "CT", "ok_name": "v"}


@pytest.mark.parametrize("sized", [True, False], ids=["known-size", "unknown-length"])
def test_40mib_put_is_staged_in_several_blocks(rig: Rig, sdk: BlobServiceClient, container: str,
                                               sized: bool) -> None:
    store = rig.multipart_store
    assert store is not None
    data = _data(40 * MiB)
    source = data if sized else (data[i:i + MiB] for i in range(0, len(data), MiB))
    info = store.put(container, "big", source, metadata={"Study": "x"})
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    committed, uncommitted = sdk.get_blob_client(container, "big").get_block_list("all")
    assert [b.size for b in committed] == [4 * MiB] * 10
    assert uncommitted == []
    assert store.head(container, "big").sha256 == info.sha256
    # The default store, with 8 MiB blocks and single puts up to 32 MiB.
    rig.store.put(container, "big2", data)
    committed, _ = sdk.get_blob_client(container, "big2").get_block_list("committed")
    assert [b.size for b in committed] == [8 * MiB] * 5


def test_small_object_is_one_put_blob_with_md5(rig: Rig, sdk: BlobServiceClient,
                                               container: str) -> None:
    rig.store.put(container, "small", b"abc" * 1000)
    props = sdk.get_blob_client(container, "small").get_blob_properties()
    assert bytes(props.content_settings.content_md5) == hashlib.md5(b"abc" * 1000).digest()


def test_backslash_keys_round_trip(rig: Rig, sdk: BlobServiceClient, container: str) -> None:
    keys = ["C:\\dir\\file", "fullwidth \uff3c kept", "quote \u201b\\ both"]
    for key in keys:
        rig.store.put(container, key, key.encode())
    assert sorted(o.key for o in rig.store.iter_objects(container)) == sorted(keys)
    for key in keys:
        assert rig.store.get(container, key).read() == key.encode()
    assert [o.key for o in rig.store.list(container, "C:\\dir\\").objects] == ["C:\\dir\\file"]
    # Azure would turn "\" into "/": the stored names carry none.
    assert all("\\" not in b.name for b in sdk.get_container_client(container).list_blobs())


def test_key_mapping_is_reversible() -> None:
    alphabet = ["a", "\\", "\uff3c", "\u201b", "/"]
    words = [""]
    for _ in range(5):
        words = [w + c for w in words for c in alphabet]
        for word in words:
            assert "\\" not in to_blob_name(word)
            assert from_blob_name(to_blob_name(word)) == word
    assert to_blob_name("plain/key.txt") == "plain/key.txt"


def _settings(server: AzuriteServer, **changes: object) -> AzureBackend:
    return AzureBackend.model_validate({"type": "azure", **changes})


def test_wrong_account_key_is_an_auth_error(server_azurite: AzuriteServer, tmp_path) -> None:
    wrong = base64.b64encode(b"not the key" * 6).decode()
    store = build_store("bad-key", _settings(server_azurite, account_url=server_azurite.account_url,
                                              account_key=wrong), tmp_path)
    for call in (store.list_buckets, lambda: store.head("some-bucket", "k"),
                 lambda: store.put("some-bucket", "k", b"x")):
        with pytest.raises(AuthError) as caught:
            call()
        assert "account key" in str(caught.value)
        assert caught.value.backend == "bad-key"


def test_account_key_settings_work(server_azurite: AzuriteServer, tmp_path) -> None:
    store = build_store("key", _settings(server_azurite, account_url=server_azurite.account_url,
                                          account_key=ACCOUNT_KEY), tmp_path)
    name = new_bucket_name()
    store.create_bucket(name)
    try:
        assert name in store.list_buckets()
    finally:
        store.delete_bucket(name)


def test_unreachable_endpoint_fails_clearly_in_bounded_time(tmp_path) -> None:
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/{ACCOUNT}"
    store = build_store("gone", _settings(None, account_url=url, account_key=ACCOUNT_KEY,  # type: ignore[arg-type]
                                           connect_timeout=2), tmp_path)
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        store.head("bucket", "key")
    assert time.monotonic() - started < 15
    assert "cannot reach Azure" in str(caught.value) and url in str(caught.value)
    assert "Connection refused" in str(caught.value)


@pytest.mark.parametrize("credential", ["account_key", "connection_string"])
def test_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(
        server_azurite: AzuriteServer, tmp_path, monkeypatch: pytest.MonkeyPatch,
        credential: str) -> None:
    # The adapter reads the proxy settings once per client instead of on every request: they
    # must still be honoured. A proxy that does not answer makes every call fail...
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    given = ({"account_url": server_azurite.account_url, "account_key": ACCOUNT_KEY}
             if credential == "account_key"
             else {"connection_string": server_azurite.connection_string()})
    settings = _settings(server_azurite, connect_timeout=2, retries=0, **given)
    proxied = build_store("proxied", settings, tmp_path)
    with pytest.raises(TransientError):
        proxied.list_buckets()
    # ...and NO_PROXY naming the endpoint's host sends the requests straight to it.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = build_store("direct", settings, tmp_path)
    assert isinstance(direct.list_buckets(), list)


def test_settings_need_exactly_one_credential(tmp_path) -> None:
    with pytest.raises(InvalidRequest, match="exactly one"):
        build_store("none", _settings(None, account_url="http://127.0.0.1:1/x"), tmp_path)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="exactly one"):
        build_store("two", _settings(None, account_url="http://127.0.0.1:1/x",  # type: ignore[arg-type]
                                     account_key=ACCOUNT_KEY, sas_token="sv=x"), tmp_path)
    with pytest.raises(InvalidRequest, match="unknown Azure preset"):
        build_store("p", _settings(None, preset="nowhere", account_url="http://127.0.0.1:1/x",  # type: ignore[arg-type]
                                   account_key=ACCOUNT_KEY), tmp_path)


def test_block_sizes_fit_azure_limits() -> None:
    caps = AZURE_CAPABILITIES
    assert next(block_sizes(1, caps)) == 8 * MiB
    huge = 190 * TiB
    part = next(block_sizes(huge, caps))
    assert part <= caps.max_part_size and -(-huge // part) <= caps.max_parts
    # Unknown length: growing blocks still hold more than 100 TiB within 50,000 blocks.
    sizes = block_sizes(None, caps)
    total = sum(next(sizes) for _ in range(caps.max_parts))
    assert total > 100 * TiB
    assert max(next(sizes) for _ in range(10)) <= caps.max_part_size


def test_split_regroups_chunks_exactly() -> None:
    data = _data(10_000)
    pieces = (data[i:i + 333] for i in range(0, len(data), 333))
    blocks = list(split(pieces, iter([4096] * 10)))
    assert [len(b) for b in blocks] == [4096, 4096, 1808]
    assert b"".join(blocks) == data


def test_preset_is_valid_and_sourced() -> None:
    preset = load_preset("azure")
    assert {r.name for r in preset.regions} >= {"francecentral", "francesouth", "westeurope",
                                                "northeurope", "germanywestcentral"}
    facts = preset.compliance
    assert facts.hq_jurisdiction.value == "US"
    assert (facts.hds.value, facts.secnumcloud.value) == ("yes", "no")
    assert "US CLOUD Act" in (facts.extraterritorial_exposure.value or [])
    assert facts.egress_price.value is not None and facts.egress_price.source
    assert set(facts.eea_regions.value or []) == {r.name for r in preset.regions}
    caps = preset.capabilities(AZURE_CAPABILITIES)
    assert (caps.max_parts, caps.max_part_size) == (50_000, 4000 * MiB)


def test_missing_bucket_and_object(rig: Rig, container: str) -> None:
    with pytest.raises(ObjectNotFound):
        rig.store.copy(container, "missing", container, "x")
    rig.store.delete(container, "missing")  # no-op


def test_backend_probe_diagnoses_wrong_key_and_dead_endpoint(server_azurite: AzuriteServer,
                                                             tmp_path) -> None:
    """`sortie backends check` runs the generic probe; the Azure errors make its diagnosis."""
    probe = pytest.importorskip("adapters.probe").probe
    good = build_store("good", _settings(server_azurite, account_url=server_azurite.account_url,
                                          account_key=ACCOUNT_KEY), tmp_path)
    assert probe(good).ok
    wrong = base64.b64encode(b"wrong key" * 6).decode()
    bad = build_store("bad", _settings(server_azurite, account_url=server_azurite.account_url,
                                        account_key=wrong), tmp_path)
    report = probe(bad)
    assert not report.ok
    assert "authentication failed" in report.diagnosis and "account key" in report.diagnosis
    gone = build_store("gone", _settings(None, account_url=f"http://127.0.0.1:{free_port()}/x",  # type: ignore[arg-type]
                                          account_key=ACCOUNT_KEY), tmp_path)
    report = probe(gone)
    assert "unreachable" in report.diagnosis and "Connection refused" in report.diagnosis


def test_every_block_carries_its_md5_and_the_commit_comes_last(server_azurite: AzuriteServer,
                                                               container: str) -> None:
    """Watch the requests on the wire: Azure can only check what it is sent."""
    from azure.core.pipeline import PipelineRequest

    from adapters.azure.store import AzureStore

    seen: list[tuple[str, dict[str, str], bytes]] = []

    def record(request: PipelineRequest) -> None:  # type: ignore[type-arg]
        http = request.http_request
        body = http.data if isinstance(http.data, bytes) else b""
        seen.append((http.url, dict(http.headers), body))

    client = BlobServiceClient.from_connection_string(server_azurite.connection_string(),
                                                      raw_request_hook=record)
    caps = AZURE_CAPABILITIES.with_overrides(min_part_size=4 * MiB, max_single_put=4 * MiB)
    store = AzureStore("wire", client, caps)
    data = _data(10 * MiB + 5)
    store.put(container, "wired", (data[i:i + 999_999] for i in range(0, len(data), 999_999)))
    puts = [(url, headers, body) for url, headers, body in seen if "wired" in url]
    blocks = [p for p in puts if "comp=block&" in p[0] or p[0].endswith("comp=block")]
    commits = [p for p in puts if "comp=blocklist" in p[0]]
    assert len(blocks) == 3 and len(commits) == 1 and puts[-1] is commits[0]
    for _url, headers, body in blocks:
        assert base64.b64decode(headers["Content-MD5"]) == hashlib.md5(body).digest()
    assert commits[0][1]["x-ms-meta-sortie_sha256"] == hashlib.sha256(data).hexdigest()
    store.put(container, "single", b"small")
    url, headers, body = seen[-1]
    assert base64.b64decode(headers["Content-MD5"]) == hashlib.md5(b"small").digest()
    store.close()


def test_memory_stays_bounded_for_a_long_stream(rig: Rig, container: str) -> None:
    """96 MiB through 4 MiB blocks, 4 in flight: Python's peak stays near 5 blocks."""
    import tracemalloc

    store = rig.multipart_store
    assert store is not None
    piece = _data(MiB)
    digest = hashlib.sha256(piece * 96).hexdigest()
    tracemalloc.start()
    try:
        # Fresh chunks (bytes() of a bytearray copies), so that holding them would show.
        info = store.put(container, "long", (bytes(bytearray(piece)) for _ in range(96)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.sha256 == digest
    # 4 slots of 4 MiB, one of them the block being filled (its chunks and their join), and
    # one 1 MiB chunk: about 21 MiB. Waiting for a slot with a whole block in hand made it 24.
    assert peak < 22 * MiB, f"peak {peak / MiB:.1f} MiB"


def test_staged_put_with_wrong_hash_leaves_the_existing_blob(rig: Rig, sdk: BlobServiceClient,
                                                             container: str) -> None:
    from adapters.errors import IntegrityError

    store = rig.multipart_store
    assert store is not None
    store.put(container, "kept", b"previous", metadata={"v": "1"})
    data = _data(9 * MiB)
    with pytest.raises(IntegrityError):
        store.put(container, "kept", data, expected_sha256="0" * 64)
    head = store.head(container, "kept")
    assert (head.size, head.metadata) == (8, {"v": "1"})
    assert store.get(container, "kept").read() == b"previous"
    # The blocks were staged but never committed: invisible, and the blob kept its content.
    committed, uncommitted = sdk.get_blob_client(container, "kept").get_block_list("all")
    assert committed == [] and len(uncommitted) == 3


def test_blocks_in_flight_are_bounded_across_concurrent_uploads(server_azurite: AzuriteServer,
                                                                container: str) -> None:
    """Four 20 MiB uploads at once through a store staging 2 blocks per upload: the store-wide
    budget (2 x 2) holds, yet more than one upload's blocks do travel together."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from adapters.azure.store import AzureStore

    lock = threading.Lock()
    in_flight = [0]
    peak = [0]

    def sent(request: object) -> None:
        if "comp=block" in request.http_request.url and "blocklist" not in request.http_request.url:
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])

    def answered(response: object) -> None:
        url = response.http_request.url
        if "comp=block" in url and "blocklist" not in url:
            with lock:
                in_flight[0] -= 1

    client = BlobServiceClient.from_connection_string(
        server_azurite.connection_string(), raw_request_hook=sent, raw_response_hook=answered)
    caps = AZURE_CAPABILITIES.with_overrides(min_part_size=4 * MiB, max_single_put=4 * MiB)
    store = AzureStore("budget", client, caps, max_concurrency=2)
    data = _data(20 * MiB)

    def upload(i: int) -> str | None:
        return store.put(container, f"big-{i}", (data[j:j + MiB] for j in range(0, len(data), MiB)),
                         size=len(data)).sha256

    try:
        with ThreadPoolExecutor(4) as pool:
            hashes = list(pool.map(upload, range(4)))
    finally:
        store.close()
    assert hashes == [hashlib.sha256(data).hexdigest()] * 4
    assert 2 < peak[0] <= 4, f"{peak[0]} blocks were in flight at once"


@pytest.mark.timeout(90)
def test_failed_uploads_give_their_block_slots_back(server_azurite: AzuriteServer,
                                                    container: str) -> None:
    """Uploads that fail, by their stream breaking or by a block refused on the way, many times
    over: had a failed upload kept its share of the store-wide budget, a later upload would wait
    forever (here: time out)."""
    import threading

    from adapters.azure.store import AzureStore

    class Refused(Exception):
        pass

    def refuse_blocks_of_doomed(request: object) -> None:
        url = request.http_request.url
        if "/doomed?" in url and "comp=block" in url and "blocklist" not in url:
            raise Refused("block refused")

    client = BlobServiceClient.from_connection_string(server_azurite.connection_string(),
                                                      raw_request_hook=refuse_blocks_of_doomed)
    caps = AZURE_CAPABILITIES.with_overrides(min_part_size=MiB, max_single_put=MiB)
    store = AzureStore("slots", client, caps, max_concurrency=2)
    piece = _data(MiB)

    class Broken(Exception):
        pass

    def broken_stream() -> Iterator[bytes]:
        for _ in range(5):
            yield piece
        raise Broken("the source went away")

    try:
        for _ in range(6):
            with pytest.raises(Broken):
                store.put(container, "broken", broken_stream())
            with pytest.raises(Exception, match="block refused"):
                store.put(container, "doomed", (piece for _ in range(8)))
        sizes: list[int] = []
        # A daemon thread: if the upload hangs for want of a slot, the test fails, not hangs.
        later = threading.Thread(daemon=True, target=lambda: sizes.append(
            store.put(container, "after", (piece for _ in range(9))).size))
        later.start()
        later.join(timeout=60)
        assert sizes == [9 * MiB], "a later upload found no block slot free"
        for key in ("broken", "doomed"):
            with pytest.raises(ObjectNotFound):
                store.head(container, key)
    finally:
        store.close()
