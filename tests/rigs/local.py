from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from adapters.config import LocalBackend
from adapters.registry import build_store

from . import Rig

RIG_IDS = ["local"]


@pytest.fixture(scope="session")
def rig_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root: Path = tmp_path_factory.mktemp("local-root")
    # Built as `sortie` builds it: through the registry, with its layers.
    store = build_store("local", LocalBackend(type="local", path=root))
    yield Rig(store=store, extras={"root": lambda: root})
