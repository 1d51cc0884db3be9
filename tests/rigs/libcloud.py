"""The libcloud adapter on two drivers: LOCAL (a temp folder) and AZURE_BLOBS (Azurite)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from adapters.libcloud import LibcloudStore

from ..servers.azurite import ACCOUNT, ACCOUNT_KEY, AzuriteServer, server_azurite  # noqa: F401
from . import Rig

RIG_IDS = ["libcloud-local", "libcloud-azurite"]


@pytest.fixture(scope="session")
def rig_libcloud_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root: Path = tmp_path_factory.mktemp("libcloud-local")
    spool = tmp_path_factory.mktemp("libcloud-spool")
    store = LibcloudStore("libcloud-local", "LOCAL", str(root), spool_dir=spool)
    yield Rig(store=store, extras={"root": lambda: root})


def azurite_store(server: AzuriteServer, spool: Path, secret: str = ACCOUNT_KEY,
                  name: str = "libcloud-azurite") -> LibcloudStore:
    return LibcloudStore(name, "AZURE_BLOBS", ACCOUNT, secret,
                         {"host": "127.0.0.1", "port": server.port, "secure": False},
                         spool_dir=spool)


@pytest.fixture(scope="session")
def rig_libcloud_azurite(server_azurite: AzuriteServer,  # noqa: F811
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    spool = tmp_path_factory.mktemp("libcloud-azurite-spool")
    yield Rig(store=azurite_store(server_azurite, spool))
