from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from adapters.local import LocalStore

from . import Rig

RIG_IDS = ["local"]


@pytest.fixture(scope="session")
def rig_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root: Path = tmp_path_factory.mktemp("local-root")
    yield Rig(store=LocalStore("local", root), extras={"root": lambda: root})
