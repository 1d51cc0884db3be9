"""The local-disk adapter, built as `sortie` builds it (registry, layers): once with the layers
every store gets, once with the gateway's serving stack (reads verified against the recorded
SHA-256), so the conformance suite runs over every layer too."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from adapters.config import LocalBackend
from adapters.layers.stack import SERVING_STACK
from adapters.registry import build_store

from . import Rig

RIG_IDS = ["local", "local-serving"]


@pytest.fixture(scope="session")
def rig_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root: Path = tmp_path_factory.mktemp("local-root")
    store = build_store("local", LocalBackend(type="local", path=root))
    yield Rig(store=store, extras={"root": lambda: root})


@pytest.fixture(scope="session")
def rig_local_serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root: Path = tmp_path_factory.mktemp("local-serving-root")
    store = build_store("local-serving", LocalBackend(type="local", path=root),
                        stack=SERVING_STACK)
    yield Rig(store=store, extras={"root": lambda: root})
