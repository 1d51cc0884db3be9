from __future__ import annotations

import pytest

from adapters.contract import Feature, ObjectStore
from adapters.errors import AlreadyExists, BucketNotFound, Conflict, InvalidName, StorageError

from ..conftest import empty_and_delete, new_bucket_name
from .helpers import require


def test_create_list_exists_delete(store: ObjectStore) -> None:
    name = new_bucket_name()
    assert not store.bucket_exists(name)
    store.create_bucket(name)
    try:
        assert store.bucket_exists(name)
        assert name in store.list_buckets()
        with pytest.raises(AlreadyExists):
            store.create_bucket(name)
    finally:
        store.delete_bucket(name)
    assert not store.bucket_exists(name)
    assert name not in store.list_buckets()


def test_delete_missing_bucket_is_not_found(store: ObjectStore) -> None:
    with pytest.raises(BucketNotFound):
        store.delete_bucket(new_bucket_name())


def test_delete_non_empty_bucket_is_a_conflict(store: ObjectStore) -> None:
    name = new_bucket_name()
    store.create_bucket(name)
    try:
        store.put(name, "keep", b"x")
        with pytest.raises(Conflict):
            store.delete_bucket(name)
        assert store.head(name, "keep").size == 1
    finally:
        empty_and_delete(store, name)


@pytest.mark.parametrize("name", ["ab", "UPPER", "a_b", "a..b", "-ab", "ab-", "a--b", "a.b",
                                  "x" * 64, "", "é-bucket"])
def test_invalid_bucket_names_are_refused_before_io(store: ObjectStore, name: str) -> None:
    with pytest.raises(InvalidName):
        store.create_bucket(name)
    with pytest.raises(InvalidName):
        store.put(name, "k", b"")


#: Rounds of the race below: enough to hit the window on a racy adapter (8 in 60 on the local
#: disk before it was fixed), few enough to stay fast on remote servers.
RACE_ROUNDS = 30


def test_a_put_racing_a_bucket_delete_is_never_lost(store: ObjectStore) -> None:
    """Either the delete fails (409: not empty) or the put fails: never both succeed, which
    would acknowledge a write and then lose it with its bucket."""
    from concurrent.futures import ThreadPoolExecutor

    require(store, Feature.atomic_bucket_delete)
    lost: list[int] = []
    for round_ in range(RACE_ROUNDS):
        name = new_bucket_name()
        store.create_bucket(name)
        try:
            with ThreadPoolExecutor(2) as pool:
                put = pool.submit(store.put, name, "racer", b"x" * 1000)
                delete = pool.submit(store.delete_bucket, name)
                put_ok = put.exception() is None
                delete_ok = delete.exception() is None
            if put_ok and delete_ok and not _readable(store, name, "racer"):
                lost.append(round_)
            elif not put_ok and not delete_ok:
                raise AssertionError(f"both failed: {put.exception()!r} / {delete.exception()!r}")
        finally:
            empty_and_delete(store, name)
    assert not lost, f"acknowledged puts lost with their bucket in rounds {lost}"


def _readable(store: ObjectStore, bucket: str, key: str) -> bool:
    try:
        return store.get(bucket, key).read() == b"x" * 1000
    except StorageError:
        return False
