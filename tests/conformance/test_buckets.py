from __future__ import annotations

import pytest

from adapters.contract import ObjectStore
from adapters.errors import AlreadyExists, BucketNotFound, Conflict, InvalidName

from ..conftest import empty_and_delete, new_bucket_name


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
