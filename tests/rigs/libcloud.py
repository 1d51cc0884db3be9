"""The libcloud adapter on two drivers: LOCAL (a temp folder) and AZURE_BLOBS (Azurite)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from adapters.config import LibcloudBackend
from adapters.contract import ObjectStore
from adapters.registry import build_store

from ..servers.azurite import ACCOUNT, ACCOUNT_KEY, AzuriteServer, server_azurite  # noqa: F401
from . import Rig

RIG_IDS = ["libcloud-local", "libcloud-azurite"]


@pytest.fixture(scope="session")
def rig_libcloud_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root: Path = tmp_path_factory.mktemp("libcloud-local")
    spool = tmp_path_factory.mktemp("libcloud-spool")
    store = build_store("libcloud-local", LibcloudBackend(  # as `sortie` builds it, with layers
        type="libcloud", provider="LOCAL", key=str(root), spool_dir=spool))  # type: ignore[arg-type]
    yield Rig(store=store, extras={"root": lambda: root})


def azurite_store(server: AzuriteServer, spool: Path, secret: str = ACCOUNT_KEY,
                  name: str = "libcloud-azurite") -> ObjectStore:
    return build_store(name, LibcloudBackend(
        type="libcloud", provider="AZURE_BLOBS", key=ACCOUNT, secret=secret,  # type: ignore[arg-type]
        options={"host": "127.0.0.1", "port": server.port, "secure": False}, spool_dir=spool))


@pytest.fixture(scope="session")
def rig_libcloud_azurite(server_azurite: AzuriteServer,  # noqa: F811
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    spool = tmp_path_factory.mktemp("libcloud-azurite-spool")
    yield Rig(store=azurite_store(server_azurite, spool))
