"""Shared fixtures: every rig (adapter + real server) and a fresh bucket per test."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from adapters.contract import ObjectStore
from adapters.errors import StorageError

from .rigs import Rig, rig_ids, rig_modules

# Expose every rig fixture (rig_local, rig_s3_seaweedfs, ...) to all tests.
for _module in rig_modules():
    for _name in dir(_module):
        if _name.startswith("rig_") or _name.startswith("server_"):
            globals()[_name] = getattr(_module, _name)


@pytest.fixture(params=rig_ids())
def rig(request: pytest.FixtureRequest) -> Rig:
    """Every adapter against its real server; the test id names both (e.g. `s3-seaweedfs`)."""
    fixture = "rig_" + request.param.replace("-", "_")
    return request.getfixturevalue(fixture)


@pytest.fixture
def store(rig: Rig) -> ObjectStore:
    return rig.store


def new_bucket_name() -> str:
    return "t-" + uuid.uuid4().hex[:20]


@pytest.fixture
def bucket(store: ObjectStore) -> Iterator[str]:
    """A fresh, empty bucket, emptied and deleted afterwards."""
    name = new_bucket_name()
    store.create_bucket(name)
    yield name
    empty_and_delete(store, name)


def empty_and_delete(store: ObjectStore, name: str) -> None:
    """Best-effort cleanup; deletes run in parallel, as one at a time takes tens of seconds for
    the 1,050-key tests on Swift."""
    try:
        keys = [info.key for info in store.iter_objects(name)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda key: store.delete(name, key), keys))
        store.delete_bucket(name)
    except StorageError:
        pass
