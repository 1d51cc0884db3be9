"""Every network family through the faulty proxy: a cut, a stall or a refusal ends in a clear
StorageError (or a retry that succeeds), within the configured timeouts, and never in a wrong or
partial object, read or written."""

from __future__ import annotations

import hashlib
import time
import uuid

import pytest

from adapters.contract import MiB, ObjectStore
from adapters.errors import ObjectNotFound, StorageError, TransientError

from ..servers.faulty import Fault, FaultyProxy
from .conftest import TIMEOUT

SIZE = 4 * MiB
#: Longest a failing call may take: the retry layer's attempts, each bounded by the timeout.
BOUND = 20 * TIMEOUT + 10


def _data(seed: str, size: int = SIZE) -> bytes:
    block = hashlib.sha256(seed.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def _seeded(store: ObjectStore) -> tuple[str, str, bytes]:
    bucket = f"faults-{uuid.uuid4().hex[:10]}"
    store.create_bucket(bucket)
    data = _data(bucket)
    store.put(bucket, "obj", data)
    return bucket, "obj", data


def _read(store: ObjectStore, bucket: str, key: str) -> bytes:
    return b"".join(store.get(bucket, key))


def test_a_body_cut_mid_read_fails_or_is_whole(faulty_store: tuple[FaultyProxy, ObjectStore]
                                               ) -> None:
    proxy, store = faulty_store
    bucket, key, data = _seeded(store)
    with proxy.fault(Fault(cut_after=SIZE // 3), times=1):
        try:
            got = _read(store, bucket, key)
        except StorageError as exc:
            assert isinstance(exc, TransientError), exc
        else:
            assert got == data  # retried whole on a fresh connection, never short
    assert proxy.faults == 1
    assert _read(store, bucket, key) == data


def test_an_upload_cut_mid_body_leaves_the_old_object_whole(
        faulty_store: tuple[FaultyProxy, ObjectStore]) -> None:
    proxy, store = faulty_store
    bucket, key, old = _seeded(store)
    new = _data("new " + bucket)
    with proxy.fault(Fault(cut_after=SIZE // 2, direction="up")):
        with pytest.raises(TransientError):
            store.put(bucket, key, new)
    assert proxy.faults >= 1
    assert _read(store, bucket, key) == old
    with proxy.fault(Fault(cut_after=SIZE // 2, direction="up")):
        with pytest.raises(TransientError):
            store.put(bucket, "never-whole", new)
    with pytest.raises(ObjectNotFound):
        store.head(bucket, "never-whole")


def test_a_stalled_answer_fails_within_the_timeouts(faulty_store: tuple[FaultyProxy, ObjectStore]
                                                    ) -> None:
    proxy, store = faulty_store
    bucket, key, data = _seeded(store)
    with proxy.fault(Fault(stall_after=SIZE // 3)):
        started = time.monotonic()
        with pytest.raises(TransientError):
            _read(store, bucket, key)
        assert time.monotonic() - started < BOUND
    with proxy.fault(Fault(stall_after=0)):
        started = time.monotonic()
        with pytest.raises(TransientError):
            store.head(bucket, key)
        assert time.monotonic() - started < BOUND
    assert _read(store, bucket, key) == data


def test_refused_connections_fail_fast_then_recover(faulty_store: tuple[FaultyProxy, ObjectStore]
                                                    ) -> None:
    proxy, store = faulty_store
    bucket, key, data = _seeded(store)
    with proxy.fault(Fault(refuse=True)):
        started = time.monotonic()
        with pytest.raises(TransientError):
            store.head(bucket, key)
        assert time.monotonic() - started < BOUND
    with proxy.fault(Fault(refuse=True), times=1):  # one refusal: the retry layer gets through
        assert store.head(bucket, key).size == SIZE
    assert _read(store, bucket, key) == data


def test_latency_slows_but_changes_nothing(faulty_store: tuple[FaultyProxy, ObjectStore]) -> None:
    proxy, store = faulty_store
    bucket, key, data = _seeded(store)
    with proxy.fault(Fault(latency=0.01)):
        store.put(bucket, "slow", data)
        assert _read(store, bucket, "slow") == data
        assert [info.key for info in store.list(bucket).objects] == ["obj", "slow"]
